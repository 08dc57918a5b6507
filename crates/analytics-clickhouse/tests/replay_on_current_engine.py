"""Replays what the ClickHouse store sent an old server through a current engine (chdb).

Usage: replay_on_current_engine.py DIR, where DIR holds NNNN.sql (a statement), NNNN.data (the
RowBinary rows of an insert) and NNNN.answer (what the old server answered), written by the
crate's replay test. Every statement must run; every query must answer the same bytes (queries
whose rows come in no set order: the same bytes in some order). Exits 1 naming what differed.
"""

import os
import re
import sys

try:
    from chdb import session
except ImportError:
    sys.exit("chdb is missing: pip install chdb (it embeds a current ClickHouse engine)")

INSERT = re.compile(r"INSERT INTO (\S+) \((.*?)\) FORMAT RowBinary$", re.S)


def main(directory):
    engine = session.Session()
    version = engine.query("SELECT version()", "TSV").bytes().decode().strip()
    names = sorted(name[:-4] for name in os.listdir(directory) if name.endswith(".sql"))
    problems = []
    for name in names:
        path = os.path.join(directory, name)
        with open(path + ".sql") as f:
            statement = f.read()
        with open(path + ".answer", "rb") as f:
            expected = f.read()
        if os.path.exists(path + ".data"):
            table, columns = INSERT.match(statement).groups()
            described = engine.query(f"DESCRIBE TABLE {table}", "TSV").bytes().decode()
            types = dict(line.split("\t")[:2] for line in described.splitlines())
            structure = ", ".join(f"{c.strip()} {types[c.strip()]}" for c in columns.split(","))
            statement = (
                f"INSERT INTO {table} ({columns}) "
                f"SELECT * FROM file('{path}.data', 'RowBinary', '{structure}')"
            )
        try:
            answer = engine.query(statement).bytes()
        except Exception as error:  # chdb raises its engine's error as a plain exception
            problems.append(f"{name}: refused: {error}\n  {statement[:400]}")
            continue
        if statement.startswith("SELECT version()") or not statement.startswith("SELECT"):
            continue
        # Rows come in no set order without ORDER BY: then the same bytes in any order.
        if "ORDER BY" in statement:
            same = answer == expected
        else:
            same = sorted(answer) == sorted(expected)
        if not same:
            problems.append(
                f"{name}: answers differ ({len(answer)} bytes, the old server {len(expected)})"
                f"\n  {statement[:400]}"
            )
    print(f"replayed {len(names)} statements on ClickHouse {version}")
    if problems:
        print("\n".join(problems))
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
