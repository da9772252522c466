def main() -> None:
    print("siamfc")
