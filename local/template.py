"""Reads template.yaml (with a CloudFormation-aware YAML loader) into what local runs need:
the table's definition, and each function's code, handler, environment and routes."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfn_tools import load_yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return load_yaml(path.read_text())


class _NoValue:
    """`Ref: AWS::NoValue`: the property (or list item) is dropped, as CloudFormation drops it."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class Conditions:
    """The template's `Conditions`, each evaluated on first use against the given parameters."""

    def __init__(self, template: dict[str, Any], refs: dict[str, Any]) -> None:
        self.definitions: dict[str, Any] = template.get("Conditions") or {}
        self.refs = refs
        self._values: dict[str, bool] = {}

    def __getitem__(self, name: str) -> bool:
        if name not in self._values:
            if name not in self.definitions:
                raise KeyError(f"template.yaml has no condition {name}")
            self._values[name] = bool(resolve(self.definitions[name], self.refs, self))
        return self._values[name]


def resolve(value: Any, refs: dict[str, Any], conditions: Conditions | None = None) -> Any:
    """Resolve the intrinsic functions used in this template: Ref (AWS::NoValue too), Fn::Sub,
    Fn::GetAtt, Fn::If and the condition functions (Fn::Equals, Fn::Not, Fn::And, Fn::Or,
    Condition), Fn::Split, Fn::Join and Fn::Select. Conditions come from the template given to
    `Conditions` (needed only where Fn::If or Condition appear)."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((name, argument),) = value.items()
            function = _FUNCTIONS.get(name)
            if function is not None:
                return function(argument, refs, conditions)
        resolved = {k: resolve(v, refs, conditions) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}
    if isinstance(value, list):
        return [item for item in (resolve(v, refs, conditions) for v in value) if item is not NO_VALUE]
    return value


def _ref(name: str, refs: dict[str, Any], _conditions: Conditions | None) -> Any:
    return NO_VALUE if name == "AWS::NoValue" else refs[name]


def _sub(argument: Any, refs: dict[str, Any], conditions: Conditions | None) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    values = {**refs, **{k: resolve(v, refs, conditions) for k, v in variables.items()}}
    for name, replacement in sorted(values.items(), key=lambda kv: -len(kv[0])):
        if isinstance(replacement, str | int | float):
            text = text.replace("${" + name + "}", str(replacement))
    return str(text)


def _get_att(argument: Any, refs: dict[str, Any], _conditions: Conditions | None) -> Any:
    target = argument.split(".", 1) if isinstance(argument, str) else argument
    return refs[".".join(target)]


def _needs(conditions: Conditions | None) -> Conditions:
    if conditions is None:
        raise ValueError("this value uses the template's conditions: pass Conditions(template, refs)")
    return conditions


def _if(argument: Any, refs: dict[str, Any], conditions: Conditions | None) -> Any:
    name, when_true, when_false = argument
    return resolve(when_true if _needs(conditions)[name] else when_false, refs, conditions)


def _condition(name: str, _refs: dict[str, Any], conditions: Conditions | None) -> bool:
    return _needs(conditions)[name]


def _equals(argument: Any, refs: dict[str, Any], conditions: Conditions | None) -> bool:
    left, right = (resolve(v, refs, conditions) for v in argument)
    return str(left) == str(right) if not isinstance(left, list | dict) else bool(left == right)


def _not(argument: Any, refs: dict[str, Any], conditions: Conditions | None) -> bool:
    (inner,) = argument
    return not resolve(inner, refs, conditions)


def _and(argument: Any, refs: dict[str, Any], conditions: Conditions | None) -> bool:
    return all(resolve(v, refs, conditions) for v in argument)


def _or(argument: Any, refs: dict[str, Any], conditions: Conditions | None) -> bool:
    return any(resolve(v, refs, conditions) for v in argument)


def _split(argument: Any, refs: dict[str, Any], conditions: Conditions | None) -> list[str]:
    delimiter, text = argument
    return str(resolve(text, refs, conditions)).split(delimiter)


def _join(argument: Any, refs: dict[str, Any], conditions: Conditions | None) -> str:
    delimiter, items = argument
    resolved = resolve(items, refs, conditions)
    if isinstance(resolved, str):  # a Ref to a CommaDelimitedList parameter, given as its text
        resolved = resolved.split(",")
    return str(delimiter).join(str(v) for v in resolved)


def _select(argument: Any, refs: dict[str, Any], conditions: Conditions | None) -> Any:
    index, items = argument
    return resolve(items, refs, conditions)[int(resolve(index, refs, conditions))]


_FUNCTIONS: dict[str, Any] = {
    "Ref": _ref,
    "Fn::Sub": _sub,
    "Fn::GetAtt": _get_att,
    "Fn::If": _if,
    "Condition": _condition,
    "Fn::Equals": _equals,
    "Fn::Not": _not,
    "Fn::And": _and,
    "Fn::Or": _or,
    "Fn::Split": _split,
    "Fn::Join": _join,
    "Fn::Select": _select,
}


def is_deployed(template: dict[str, Any], resource: dict[str, Any], refs: dict[str, Any]) -> bool:
    """False for a resource whose `Condition` is false with these parameters."""
    condition = resource.get("Condition")
    return condition is None or Conditions(template, refs)[condition]


def table_definition(template: dict[str, Any], logical_id: str = "Table") -> dict[str, Any]:
    """create_table arguments for the template's table (keys, indexes, billing, stream)."""
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
    if props.get("StreamSpecification"):
        stream = props["StreamSpecification"]
        definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
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
class StreamSource:
    """A function's DynamoDB stream event source mapping, as Lambda would run it."""

    table: str  # the logical id of the table whose stream it reads
    starting_position: str
    batch_size: int
    filters: list[dict[str, Any]]  # FilterCriteria patterns (any one lets a record through)
    report_item_failures: bool
    bisect_on_error: bool
    max_retries: int  # -1: until the record expires
    on_failure: str | None  # the logical id of the on-failure destination (an SQS queue)


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
    streams: list[StreamSource] = field(default_factory=list)


def _stream_source(props: dict[str, Any]) -> StreamSource:
    stream = props["Stream"]
    target = stream["Fn::GetAtt"] if isinstance(stream, dict) else stream
    table = (target.split(".") if isinstance(target, str) else target)[0]
    destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    queue = None
    if isinstance(destination, dict) and "Fn::GetAtt" in destination:
        found = destination["Fn::GetAtt"]
        queue = (found.split(".") if isinstance(found, str) else found)[0]
    return StreamSource(
        table=table,
        starting_position=props["StartingPosition"],
        batch_size=int(props.get("BatchSize", 100)),
        filters=[json.loads(f["Pattern"]) for f in (props.get("FilterCriteria") or {}).get("Filters", [])],
        report_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
        bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
        max_retries=int(props.get("MaximumRetryAttempts", -1)),
        on_failure=queue,
    )


def functions(template: dict[str, Any], refs: dict[str, str]) -> list[FunctionSpec]:
    """Every AWS::Serverless::Function, with Globals merged in and its environment resolved."""
    glob = template.get("Globals", {}).get("Function", {})
    global_env = glob.get("Environment", {}).get("Variables", {})
    api_default_auth = _default_authorizer(template)
    conditions = Conditions(template, refs)
    specs = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        if "Condition" in resource and not conditions[resource["Condition"]]:
            continue
        props = resource["Properties"]
        env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        module, handler = props["Handler"].rsplit(".", 1)
        spec = FunctionSpec(
            logical_id=logical_id,
            code_dir=ROOT / props["CodeUri"],
            module=module,
            handler=handler,
            environment={k: str(v) for k, v in resolve(env, refs, conditions).items()},
            timeout=int(props.get("Timeout", glob.get("Timeout", 3))),
        )
        for event in props.get("Events", {}).values():
            eprops = event.get("Properties", {})
            if event["Type"] == "HttpApi":
                authorizer = (eprops.get("Auth") or {}).get("Authorizer", api_default_auth)
                spec.routes.append(Route(eprops["Method"].upper(), eprops["Path"], authorizer not in (None, "NONE")))
            elif event["Type"] in ("Schedule", "ScheduleV2"):
                spec.schedules.append(eprops.get("Schedule") or eprops.get("ScheduleExpression"))
            elif event["Type"] == "DynamoDB":
                spec.streams.append(_stream_source(eprops))
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


def placeholder_refs(template: dict[str, Any], **values: str) -> dict[str, str]:
    """What each Ref and GetAtt of the template stands for when nothing is deployed: a parameter
    its default (or its name), a resource its logical id; `values` override (the tests, the
    benchmarks and the dev server each name their own table, bus, ...)."""
    refs = {name: name for name in template.get("Resources", {})}
    refs.update({f"{name}.Arn": name for name in template.get("Resources", {})})
    refs.update({name: name for name in template.get("Parameters", {})})
    refs.update(parameter_defaults(template))
    refs.update(values)
    return refs


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


@dataclass(frozen=True)
class Cors:
    """The HTTP API's CorsConfiguration, resolved: what API Gateway answers browsers with."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False


def cors_configuration(template: dict[str, Any], refs: dict[str, Any]) -> Cors | None:
    """The HTTP API's CORS configuration with these parameters (conditions evaluated), or None
    when it has none (then API Gateway adds no CORS header and answers no preflight)."""
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Serverless::HttpApi":
            continue
        raw = resource["Properties"].get("CorsConfiguration")
        if raw is None:
            return None
        config = resolve({"value": raw}, refs, Conditions(template, refs)).get("value")
        if config is None or config is False:
            return None
        if config is True:
            return Cors(allow_origins=("*",))

        return _cors(config)
    return None


def _cors(config: dict[str, Any]) -> Cors:
    def strings(key: str) -> tuple[str, ...]:
        return tuple(str(v).strip() for v in config.get(key) or () if str(v).strip())

    return Cors(
        allow_origins=strings("AllowOrigins"),
        allow_methods=strings("AllowMethods"),
        allow_headers=tuple(h.lower() for h in strings("AllowHeaders")),
        expose_headers=tuple(h.lower() for h in strings("ExposeHeaders")),
        max_age=int(config["MaxAge"]) if "MaxAge" in config else None,
        allow_credentials=bool(config.get("AllowCredentials", False)),
    )
