"""The demo's storage-limitation step: a file sent for the wrong month is held, its source
discards it, the retention plan says it goes today and why, the sweep crypto-shreds it with one
audit entry, and the content answers 410 from then on (the log stays whole: the demo verifies
it last)."""

from __future__ import annotations

from pathlib import Path

from gateway.cli.demo_flow import PERIOD, Demo, expect
from gateway.services.deliveries import synthetic

WRONG_MONTH = "2016-10"  # November's file, sent as October's


def retention_step(demo: Demo, files: list[synthetic.SynthFile], sources: Path) -> list[str]:
    demo.say("\n== Storage limitation: a wrong month's file, discarded and erased")
    lpr = next(f for f in files if f.dataset == "lpr")
    body = (sources / lpr.path).read_bytes()
    push = f"/v1/sources/{lpr.source}/datasets/lpr/deliveries"
    with demo.machine(lpr.source) as c:
        held = expect(c.post(push, params={"period": WRONG_MONTH}, content=body), 201, "push")
        doubts = held.get("held") or []
        why = "; ".join(d["detail"] for d in doubts)
        state = "held for its source's confirmation" if doubts else "accepted"
        demo.say(f"  {PERIOD}'s lpr file sent as {WRONG_MONTH}: {state} ({why})")
        discarded = expect(
            c.post(
                f"/v1/deliveries/{held['delivery_id']}/withdraw",
                json={"note": f"the {PERIOD} file, sent under the wrong month"},
            ),
            200,
            "withdraw",
        )
        demo.say(
            f"  its source withdrew it (audit entry #{discarded['audit_index']}); "
            f"the month's current version stays: {discarded['current_version'] or 'none'}"
        )
    with demo.person("dpo") as dpo:
        plan = expect(dpo.get("/v1/retention/plan"), 200, "retention plan")
    item = next(i for i in plan["items"] if i["id"] == held["delivery_id"])
    demo.say(
        f"  retention plan: it goes on {item['due']} ({item['reason']}); "
        f"{plan['summary']['held_at_the_hub']} deliveries and releases kept at the hub"
    )
    with demo.person("drift") as operator:
        swept = expect(operator.post("/v1/retention/sweep"), 200, "retention sweep")
    mine = next(e for e in swept["erased"] if e["id"] == held["delivery_id"])
    demo.say(
        f"  sweep: {len(swept['erased'])} erased (crypto-shredded), this one as audit entry "
        f"#{mine['audit_index']}, rule {mine['rule']}, sha256 {mine['sha256'][:16]}..."
    )
    with demo.machine(lpr.source) as c:
        again = c.post(push, params={"period": WRONG_MONTH}, content=body)
    demo.say(f"  the same file again: HTTP {again.status_code} ({again.json().get('title', '')})")
    return [
        f"retention: the discarded delivery erased by the sweep, audit entry "
        f"#{mine['audit_index']}; sent again it answers HTTP {again.status_code} "
        "(`gateway retention plan`, docs/retention.md)"
    ]
