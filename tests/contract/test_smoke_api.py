from pathlib import Path

from exchange.db import Database
from tests.helpers import client_for, seed, token_for

PUBLISH = """mutation Publish($input: PublishEntryInput!) {
  publishEntry(input: $input) { entry { id version title bodyHtml visibility } } }"""


async def test_publish_then_read(db: Database, tmp_path: Path) -> None:
    await seed(db)
    token = await token_for("071405008068")
    async with client_for(db, tmp_path) as client:
        r = await client.post("/graphql", json={"query": PUBLISH, "variables": {"input": {
            "kind": "PROJECT", "title": "Digitales Rathaus", "summary": "Online-Dienste für alle.",
            "bodyMarkdown": "# Ziel\n\nAlles online. <script>alert(1)</script>", "topics": [],
            "language": "de", "visibility": "PUBLIC"}}},
            headers={"Authorization": f"Bearer {token}"})
        print(r.json())
        assert r.status_code == 200
        entry = r.json()["data"]["publishEntry"]["entry"]
        r = await client.post("/graphql", json={"query": "{ entries(first: 5) { totalCount edges { node { id title publisher { __typename name } topics { slug } } } } }"})
        print(r.json())
        assert r.json()["data"]["entries"]["totalCount"] == 1
        assert entry["id"] == r.json()["data"]["entries"]["edges"][0]["node"]["id"]
