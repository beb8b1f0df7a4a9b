"""Article text written for the tests: a stance flip and two short news reports."""

import json
from pathlib import Path

FLIP = (
    "Danish Prime Minister Mette Frederiksen said on Monday that Denmark has ruled out sending "
    "troops to Ukraine, ending weeks of speculation in Copenhagen about a Danish contribution."
)

DENMARK = [
    "Danish Prime Minister Mette Frederiksen said on Tuesday that Denmark will not send troops "
    "to Ukraine this year, ruling out a deployment to the reassurance force for now.",
    "The decision follows weeks of debate in Copenhagen about the European force, and officials "
    "said the government would revisit the question in the spring once talks progress.",
    "Opposition parties criticised the move and said the country should stand with Britain and "
    "France, which have both offered to lead the planned mission in Ukraine.",
]

SPAIN = [
    "Spain is ready to raise defence spending to 2% of GDP this year, Prime Minister Pedro "
    "Sánchez said, announcing a plan worth more than ten billion euros for the armed forces.",
    "The plan will be paid for without new taxes, Sánchez told reporters in Madrid, and will "
    "include investment in cyber defence, satellites and the modernisation of equipment.",
]


WIRE_TAILS = [("wire", ""), ("daily", " Reporting by staff."), ("post", " (AFP)")]


def write_wire_export(path: Path, tails: list[tuple[str, str]] = WIRE_TAILS) -> None:
    """One wire story as outlets carried it (by default three, two with a line of their own):
    ``tails`` gives each outlet and what it added. One source."""
    rows = [
        {
            "title": "Denmark says no",
            "outlet": outlet,
            "url": f"https://{outlet}.example/dk",
            "published": "2025-03-10",
            "body": " ".join(DENMARK) + tail,
        }
        for outlet, tail in tails
    ]
    path.write_text(json.dumps(rows), encoding="utf-8")
