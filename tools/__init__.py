"""Tools: the `siamfc` command and the benchmarks. Imports every stage; nothing imports it."""
