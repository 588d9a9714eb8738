"""An experiment with a nondeterministic output: it writes the current time.

out/result.txt is the same on every run; out/stamp.txt is not.
"""
import datetime
import os

os.makedirs("out", exist_ok=True)
with open("out/result.txt", "w") as f:
    f.write("sum %d\n" % sum(range(1000)))
with open("out/stamp.txt", "w") as f:
    f.write("finished at %s\n" % datetime.datetime.now().isoformat())
print("done")
