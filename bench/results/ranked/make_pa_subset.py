import sys, json, random
sys.path.insert(0, "bench")
import purify_score as ps
clean, rows = ps.load_default_sets()
rng = random.Random(7)
by = {}
for r in rows: by.setdefault(r["kind"], []).append(r)
out = []
for k in sorted(by):
    pick = rng.sample(by[k], min(40, len(by[k])))
    out += [{"clean": r["clean"], "attacked": r["attacked"], "kind": r["kind"]} for r in pick]
with open("/tmp/rk/pa_subset.jsonl", "w") as f:
    for r in out: f.write(json.dumps(r) + "\n")
print(len(out), rows[0].keys())
