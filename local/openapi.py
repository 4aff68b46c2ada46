"""openapi.json, generated from the code: one Powertools resolver that includes every function's
router (each app module imported on its own), documented by Powertools from the routes' models.
Which routes need the clinician's bearer token comes from template.yaml, as API Gateway enforces it.

    python -m local.openapi --write   # regenerate openapi.json
    python -m local.openapi --check   # fail if the committed openapi.json differs from the code
"""

import argparse
import difflib
import json
import sys
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from local.lambdas import import_isolated, put_layers_on_path
from local.template import ROOT, functions, layer_dirs, load_template, placeholder_refs

OPENAPI_FILE = ROOT / "openapi.json"
TITLE = "Patient invitations"
VERSION = "1.0.0"
SCHEME = "ClinicianJwt"  # the template's authorizer
DESCRIPTION = (
    "Clinicians invite patients (email or SMS) to a secure messaging thread; patients accept "
    'through a link. Errors: {"error": {"code", "message", "fields"?}}.'
)


def generate() -> str:
    template = load_template()
    specs = functions(template, placeholder_refs(template))  # only routes and handlers matter here
    put_layers_on_path(layer_dirs(template))
    app = APIGatewayHttpResolver(enable_validation=True)
    for spec in specs:
        module = import_isolated(spec)
        if hasattr(module, "router"):
            app.include_router(module.router)
    document = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            description=DESCRIPTION,
            security_schemes={SCHEME: HTTPBearer(bearerFormat="JWT", description="The clinician's identity token")},
        )
    )
    _apply_template_auth(document, specs)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _apply_template_auth(document: dict[str, Any], specs: list[Any]) -> None:
    """Each operation's security, from the route's authorizer in template.yaml; and a route the
    code serves but the template does not (or the reverse) is an error, not a silent gap."""
    template_routes = {(r.method.lower(), r.path): r.authorized for spec in specs for r in spec.routes}
    documented = {(m, p) for p, ops in document.get("paths", {}).items() for m in ops}
    if documented != set(template_routes):
        raise SystemExit(
            "template.yaml and the code disagree on the routes:\n"
            f"  only in the code: {sorted(documented - set(template_routes))}\n"
            f"  only in the template: {sorted(set(template_routes) - documented)}"
        )
    for (method, path), authorized in template_routes.items():
        document["paths"][path][method]["security"] = [{SCHEME: []}] if authorized else []


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.openapi", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write openapi.json")
    mode.add_argument("--check", action="store_true", help="fail if openapi.json is not what the code generates")
    args = parser.parse_args(argv)
    generated = generate()
    if args.write:
        OPENAPI_FILE.write_text(generated)
        print(f"wrote {OPENAPI_FILE.relative_to(ROOT)}")
        return
    committed = OPENAPI_FILE.read_text() if OPENAPI_FILE.exists() else ""
    if committed == generated:
        print(f"{OPENAPI_FILE.relative_to(ROOT)} matches the code")
        return
    diff = difflib.unified_diff(
        committed.splitlines(),
        generated.splitlines(),
        "openapi.json (committed)",
        "openapi.json (from the code)",
        lineterm="",
    )
    shown = list(diff)
    print("\n".join(shown[:80]) + ("\n..." if len(shown) > 80 else ""), file=sys.stderr)
    sys.exit("openapi.json has drifted from the code: run `make openapi` and commit the result.")


if __name__ == "__main__":
    main()
