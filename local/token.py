"""`make token SUB=<id> NAME="<name>"`: a bearer token for that clinician, signed with the local
key that the dev server checks. The token alone goes to standard output (its last line), the
note about it to standard error: `TOKEN=$(make -s token SUB=... NAME=...)` needs nothing stripped."""

import argparse
import sys

from local import auth
from local.paths import data_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.token", description=__doc__)
    parser.add_argument("--sub", required=True, help="the clinician's id (the token's sub)")
    parser.add_argument("--name", required=True, help="the clinician's display name (the token's name)")
    parser.add_argument("--hours", type=float, default=auth.DEFAULT_LIFETIME_SECONDS / 3600, help="lifetime")
    parser.add_argument("--data-dir", default=None, help="the local stack's data folder (default .local/)")
    args = parser.parse_args(argv)
    if not args.sub.strip() or not args.name.strip():
        parser.error("SUB and NAME must not be empty, e.g. make token SUB=clinician-1 NAME='Dr Alice Martin'")
    token = auth.mint(data_dir(args.data_dir), args.sub, args.name, int(args.hours * 3600))
    note = f"# Bearer token for {args.sub}, valid {args.hours:g} h: send it as 'Authorization: Bearer <token>'"
    print(note, file=sys.stderr)
    print(token)


if __name__ == "__main__":
    main()
