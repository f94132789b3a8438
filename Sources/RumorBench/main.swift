// rumor-bench: the measurements behind Scripts/bench.sh (being written).
print("{}")
