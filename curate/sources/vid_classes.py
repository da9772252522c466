"""The 30 ImageNet VID classes: WordNet id to readable name, in the official order."""

VID_CLASSES: dict[str, str] = {
    "n02691156": "airplane",
    "n02419796": "antelope",
    "n02131653": "bear",
    "n02834778": "bicycle",
    "n01503061": "bird",
    "n02924116": "bus",
    "n02958343": "car",
    "n02402425": "cattle",
    "n02084071": "dog",
    "n02121808": "domestic cat",
    "n02503517": "elephant",
    "n02118333": "fox",
    "n02510455": "giant panda",
    "n02342885": "hamster",
    "n02374451": "horse",
    "n02129165": "lion",
    "n01674464": "lizard",
    "n02484322": "monkey",
    "n03790512": "motorcycle",
    "n02324045": "rabbit",
    "n02509815": "red panda",
    "n02411705": "sheep",
    "n01726692": "snake",
    "n02355227": "squirrel",
    "n02129604": "tiger",
    "n04468005": "train",
    "n01662784": "turtle",
    "n04530566": "watercraft",
    "n02062744": "whale",
    "n02391049": "zebra",
}

WNIDS: tuple[str, ...] = tuple(VID_CLASSES)

