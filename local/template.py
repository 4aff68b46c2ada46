"""Reads template.yaml (with a CloudFormation-aware YAML loader) into what local runs need:
the table's definition, and each function's code, handler, environment and routes."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfn_tools import load_yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return load_yaml(path.read_text())


def resolve(value: Any, refs: dict[str, str]) -> Any:
    """Resolve the intrinsic functions used in this template (Ref, Fn::Sub, Fn::GetAtt)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return refs[value["Ref"]]
        if "Fn::Sub" in value:
            text = value["Fn::Sub"]
            for name, replacement in sorted(refs.items(), key=lambda kv: -len(kv[0])):
                text = text.replace("${" + name + "}", replacement)
            return text
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            target = target.split(".", 1) if isinstance(target, str) else target
            return refs[".".join(target)]
        return {k: resolve(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs) for v in value]
    return value


def table_definition(template: dict[str, Any], logical_id: str = "Table") -> dict[str, Any]:
    """create_table arguments for the template's table (keys, indexes, billing), plus its TTL."""
    props = template["Resources"][logical_id]["Properties"]
    definition: dict[str, Any] = {
        "AttributeDefinitions": [dict(a) for a in props["AttributeDefinitions"]],
        "KeySchema": [dict(k) for k in props["KeySchema"]],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = [
            {
                "IndexName": g["IndexName"],
                "KeySchema": [dict(k) for k in g["KeySchema"]],
                "Projection": dict(g["Projection"]),
            }
            for g in props["GlobalSecondaryIndexes"]
        ]
    return definition


def ttl_attribute(template: dict[str, Any], logical_id: str = "Table") -> str | None:
    spec = template["Resources"][logical_id]["Properties"].get("TimeToLiveSpecification") or {}
    return spec.get("AttributeName") if spec.get("Enabled") else None


@dataclass
class Route:
    method: str
    path: str  # API Gateway form: /invitations/{invitation_id}
    authorized: bool


@dataclass
class FunctionSpec:
    logical_id: str
    code_dir: Path
    module: str
    handler: str
    environment: dict[str, Any]
    timeout: int
    routes: list[Route] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)


def functions(template: dict[str, Any], refs: dict[str, str]) -> list[FunctionSpec]:
    """Every AWS::Serverless::Function, with Globals merged in and its environment resolved."""
    glob = template.get("Globals", {}).get("Function", {})
    global_env = glob.get("Environment", {}).get("Variables", {})
    api_default_auth = _default_authorizer(template)
    specs = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        module, handler = props["Handler"].rsplit(".", 1)
        spec = FunctionSpec(
            logical_id=logical_id,
            code_dir=ROOT / props["CodeUri"],
            module=module,
            handler=handler,
            environment={k: str(resolve(v, refs)) for k, v in env.items()},
            timeout=int(props.get("Timeout", glob.get("Timeout", 3))),
        )
        for event in props.get("Events", {}).values():
            eprops = event.get("Properties", {})
            if event["Type"] == "HttpApi":
                authorizer = (eprops.get("Auth") or {}).get("Authorizer", api_default_auth)
                spec.routes.append(Route(eprops["Method"].upper(), eprops["Path"], authorizer not in (None, "NONE")))
            elif event["Type"] in ("Schedule", "ScheduleV2"):
                spec.schedules.append(eprops.get("Schedule") or eprops.get("ScheduleExpression"))
        specs.append(spec)
    return specs


def _default_authorizer(template: dict[str, Any]) -> str | None:
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::HttpApi":
            return (resource["Properties"].get("Auth") or {}).get("DefaultAuthorizer")
    return None


def rate_seconds(expression: str) -> int:
    """'rate(15 minutes)' -> 900."""
    amount, unit = expression.removeprefix("rate(").removesuffix(")").split()
    return int(amount) * {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}[unit]


def parameter_defaults(template: dict[str, Any]) -> dict[str, str]:
    """Each template parameter that has a Default, as the string CloudFormation would pass."""
    return {name: str(spec["Default"]) for name, spec in template.get("Parameters", {}).items() if "Default" in spec}


def layer_dirs(template: dict[str, Any]) -> list[Path]:
    """ContentUri of each AWS::Serverless::LayerVersion: what Lambda mounts as /opt/python."""
    return [
        ROOT / resource["Properties"]["ContentUri"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    ]


def jwt_authorizer(template: dict[str, Any]) -> dict[str, Any] | None:
    """The HTTP API's default JWT authorizer configuration (issuer, audience), unresolved."""
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Serverless::HttpApi":
            continue
        auth = resource["Properties"].get("Auth") or {}
        authorizer = (auth.get("Authorizers") or {}).get(auth.get("DefaultAuthorizer") or "")
        if authorizer and "JwtConfiguration" in authorizer:
            return dict(authorizer["JwtConfiguration"])
    return None


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}
