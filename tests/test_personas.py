"""Personas by give-and-receive balance, on people whose behaviour is known."""

from __future__ import annotations

from pathlib import Path

from .conftest import write

DIRECTORY = "email,site\n" + "".join(
    f"{p}@x.fr,Lyon\n" for p in ("cat", "res", "bro", "eng", "obs", "ina")
)
# cat posts once and gets 3 replies/reactions (catalyst: received 3 >= 2 x 1);
# res replies 3 times and posts once (responder); bro posts 4 times, gets 1 (broadcaster:
# 1 < 0.5 x 4); eng posts 2, gets 2 (engager); obs only reads (observer); ina: nothing.
EVENTS = """timestamp,user,event_type,target_user
2026-03-02T09:00:00Z,cat@x.fr,post,
2026-03-02T10:00:00Z,res@x.fr,comment,cat@x.fr
2026-03-02T11:00:00Z,eng@x.fr,reaction,cat@x.fr
2026-03-02T12:00:00Z,obs@x.fr,read,cat@x.fr
2026-03-02T13:00:00Z,bro@x.fr,reaction,cat@x.fr
2026-03-03T09:00:00Z,res@x.fr,comment,eng@x.fr
2026-03-03T10:00:00Z,res@x.fr,comment,eng@x.fr
2026-03-03T11:00:00Z,res@x.fr,post,
2026-03-04T09:00:00Z,bro@x.fr,post,
2026-03-04T10:00:00Z,bro@x.fr,post,
2026-03-04T11:00:00Z,bro@x.fr,post,
2026-03-04T12:00:00Z,bro@x.fr,post,
2026-03-04T13:00:00Z,eng@x.fr,reaction,bro@x.fr
2026-03-05T09:00:00Z,eng@x.fr,post,
2026-03-05T10:00:00Z,eng@x.fr,post,
"""


def test_each_rule_gives_its_persona(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    cli("directory", write(tmp_path / "d.csv", DIRECTORY))
    cli("ingest", write(tmp_path / "e.csv", EVENTS))
    args = ("personas", "--as-of", "2026-03-08", "--window", "7", "--min-group-size", "1")
    result = cli(*args, "--json").json()
    assert result["reason"] is None
    assert result["sites"][0]["personas"] == {
        "engager": 1,
        "catalyst": 1,
        "responder": 1,
        "broadcaster": 1,
        "observer": 1,
    }
    html = cli(*args, "--format", "html").stdout
    assert 'data-persona="catalyst">1<' in html
    hidden = cli(
        "personas", "--as-of", "2026-03-08", "--window", "7", "--min-group-size", "2", "--json"
    )
    assert hidden.json()["sites"][0]["suppressed"] is False
    assert hidden.json()["sites"][0]["personas"]["catalyst"] is None  # 1 person < 2


def test_without_target_people_there_are_no_personas(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    cli("directory", write(tmp_path / "d.csv", DIRECTORY))
    plain = "timestamp,user,event_type\n2026-03-02T09:00:00Z,cat@x.fr,post\n"
    cli("ingest", write(tmp_path / "e.csv", plain))
    result = cli("personas", "--as-of", "2026-03-08", "--window", "7", "--json").json()
    assert result["sites"] == [] and "names a target person" in result["reason"]


def test_someone_active_only_through_a_usage_report_falls_in_the_last_row(
    tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    """Carol's 12 Teams messages come from a usage report (counts, no event): no post or
    comment of hers is known, so she is not an observer (active, no post) but falls through
    to engager, as docs/metrics.md says; Bob, who only commented, is a responder."""
    cli(
        "directory",
        write(
            tmp_path / "d.csv",
            "email,site\n" + "".join(f"{p}@example.com,Lyon\n" for p in ("alice", "bob", "carol")),
        ),
    )
    events = (
        "timestamp,user,event_type,target_user\n2026-03-10T09:00:00Z,alice@example.com,post,\n"
        "2026-03-11T09:00:00Z,bob@example.com,comment,alice@example.com\n"
    )
    teams = (
        "Report Refresh Date,User Principal Name,Last Activity Date,Is Deleted,Deleted Date,"
        "Assigned Products,Team Chat Message Count,Private Chat Message Count,Call Count,"
        "Meeting Count,Has Other Action,Report Period\n"
        "2026-03-31,carol@example.com,2026-03-30,False,,MICROSOFT TEAMS,12,0,0,0,No,30\n"
    )
    cli("ingest", write(tmp_path / "e.csv", events), write(tmp_path / "teams.csv", teams))
    args = ("personas", "--as-of", "2026-03-31", "--window", "30", "--min-group-size", "1")
    (lyon,) = cli(*args, "--json").json()["sites"]
    assert lyon["personas"] == {
        "engager": 2,
        "catalyst": 0,
        "responder": 1,
        "broadcaster": 0,
        "observer": 0,
    }
