"""Operating rules of template.yaml, stated for every resource of a kind so that they hold for the
resources added later too: logs kept for LogRetentionDays under the optional customer key, every
function and queue watched by an alarm that pages, the access log free of link tokens, the public
routes never throttled tighter than the account, and every waived finding with its reason.
(`make template-rules` runs AWS's serverless rules and checkov themselves.)"""

import json
import re
from typing import Any

import pytest

from local.template import ROOT, load_template

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
README = (ROOT / "README.md").read_text()
KMS_OPTION = {"Fn::If": ["UseCustomerKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
# Access-log variables vetted for privacy: none holds the raw path (a link token), the query
# string or a header (the bearer token).
ACCESS_LOG_VARIABLES = {
    "$context.requestId",
    "$context.requestTimeEpoch",
    "$context.routeKey",
    "$context.status",
    "$context.protocol",
    "$context.responseLength",
    "$context.responseLatency",
    "$context.integrationLatency",
    "$context.identity.sourceIp",
    "$context.authorizer.claims.sub",
    "$context.error.message",
    "$context.integrationErrorMessage",
}
ASYNC_EVENTS = {"Schedule", "ScheduleV2", "CloudWatchEvent", "EventBridgeRule", "SNS", "S3"}
STREAM_EVENTS = {"DynamoDB", "Kinesis"}


def of_type(*types: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] in types}


FUNCTIONS = of_type("AWS::Serverless::Function", "AWS::Lambda::Function")
ALARMS = of_type("AWS::CloudWatch::Alarm")
HTTP_API = next(iter(of_type("AWS::Serverless::HttpApi").values()))["Properties"]


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(resource.get("Properties") or {})


def alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """Each metric an alarm reads, as {Namespace, MetricName, Dimensions}."""
    p = props(alarm)
    if "MetricName" in p:
        return [{"Namespace": p["Namespace"], "MetricName": p["MetricName"], "Dimensions": p.get("Dimensions", [])}]
    return [dict(m["MetricStat"]["Metric"]) for m in p.get("Metrics", []) if "MetricStat" in m]


def alarms_on(metric_name: str, dimension_value: Any = None) -> list[str]:
    found = []
    for name, alarm in ALARMS.items():
        for metric in alarm_metrics(alarm):
            values = [d["Value"] for d in metric.get("Dimensions") or []]
            if metric["MetricName"] == metric_name and (dimension_value is None or dimension_value in values):
                found.append(name)
    return found


# -- logs ------------------------------------------------------------------------------------------


def test_log_retention_is_a_parameter_of_30_days():
    assert TEMPLATE["Parameters"]["LogRetentionDays"]["Default"] == 30


@pytest.mark.parametrize("name", sorted(of_type("AWS::Logs::LogGroup")))
def test_every_log_group_expires_and_takes_the_customer_key(name):
    p = props(RESOURCES[name])
    assert p["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert p["KmsKeyId"] == KMS_OPTION


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_logs_to_a_log_group_of_the_template(name):
    group = props(FUNCTIONS[name]).get("LoggingConfig", {}).get("LogGroup")
    assert isinstance(group, dict) and "Ref" in group, f"{name} has no LoggingConfig.LogGroup: !Ref <its log group>"
    assert RESOURCES[group["Ref"]]["Type"] == "AWS::Logs::LogGroup"


def test_each_function_has_a_log_group_of_its_own():
    groups = [props(f)["LoggingConfig"]["LogGroup"]["Ref"] for f in FUNCTIONS.values()]
    assert len(groups) == len(set(groups))


def test_the_access_log_is_json_and_never_holds_a_link_token_a_query_or_a_header():
    settings = HTTP_API["AccessLogSettings"]
    assert RESOURCES[settings["DestinationArn"]["Fn::GetAtt"][0]]["Type"] == "AWS::Logs::LogGroup"
    log_format = settings["Format"]
    variables = set(re.findall(r"\$context\.[A-Za-z.]+", log_format))
    assert "$context.routeKey" in variables
    assert variables <= ACCESS_LOG_VARIABLES, f"vet these for privacy first: {variables - ACCESS_LOG_VARIABLES}"
    assert "$request" not in log_format
    line = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", log_format))
    assert isinstance(line, dict)


# -- failures and alarms -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_pages_on_errors_and_throttles(name):
    assert alarms_on("Errors", {"Ref": name}), f"no Errors alarm for {name}"
    assert alarms_on("Throttles", {"Ref": name}), f"no Throttles alarm for {name}"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_asynchronous_and_stream_events_have_an_on_failure_destination(name):
    p = props(FUNCTIONS[name])
    for event_name, event in (p.get("Events") or {}).items():
        if event["Type"] in ASYNC_EVENTS:
            on_failure = p.get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure")
            assert on_failure, f"{name}: {event_name} is asynchronous: EventInvokeConfig needs an OnFailure"
        if event["Type"] in STREAM_EVENTS:
            on_failure = event["Properties"].get("DestinationConfig", {}).get("OnFailure")
            assert on_failure, f"{name}: {event_name} needs DestinationConfig.OnFailure"
        if event["Type"] in ("Schedule", "ScheduleV2"):
            assert event["Properties"].get("DeadLetterConfig"), f"{name}: {event_name}'s target needs a DLQ"


SCHEDULED = sorted(
    name
    for name, function in FUNCTIONS.items()
    if any(e["Type"] in ("Schedule", "ScheduleV2") for e in (props(function).get("Events") or {}).values())
)


@pytest.mark.parametrize("name", SCHEDULED)
def test_scheduled_functions_page_when_they_stop_running(name):
    not_running = [
        a
        for a in alarms_on("Invocations", {"Ref": name})
        if props(ALARMS[a])["ComparisonOperator"] == "LessThanThreshold"
        and props(ALARMS[a])["TreatMissingData"] == "breaching"
    ]
    assert not_running, f"{name} runs on a schedule: an alarm must page when it stops running"


@pytest.mark.parametrize("name", sorted(of_type("AWS::SQS::Queue")))
def test_every_queue_pages_on_any_message_and_takes_the_customer_key(name):
    assert alarms_on("ApproximateNumberOfMessagesVisible", {"Fn::GetAtt": [name, "QueueName"]}), name
    assert props(RESOURCES[name])["KmsMasterKeyId"] == KMS_OPTION


def test_the_service_alarms_exist():
    assert alarms_on("5xx", {"Ref": "HttpApi"})
    assert alarms_on("DeliveryFailures")
    assert alarms_on("DeliveryBounces")
    assert alarms_on("SMSMonthToDateSpentUSD")


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_every_alarm_pages_and_has_a_runbook_line(name):
    p = props(ALARMS[name])
    assert p["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    found = re.search(r"Runbook README\.md#runbook ([a-z0-9-]+)", p["AlarmDescription"])
    assert found, f"{name}: AlarmDescription must name its runbook line"
    assert re.search(rf"^\| `{found[1]}` \|", README, re.MULTILINE), f"README's runbook has no line `{found[1]}`"


def test_the_alarm_topic_can_email_someone():
    assert props(RESOURCES["AlarmEmailSubscription"])["Endpoint"] == {"Ref": "AlarmEmail"}
    assert RESOURCES["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"


# -- throttling, CORS, domain --------------------------------------------------------------------


def public_route_keys() -> set[str]:
    keys = set()
    for function in FUNCTIONS.values():
        for event in (props(function).get("Events") or {}).values():
            ep = event.get("Properties") or {}
            if event["Type"] == "HttpApi" and (ep.get("Auth") or {}).get("Authorizer") == "NONE":
                keys.add(f"{ep['Method'].upper()} {ep['Path']}")
    return keys


def test_clinician_routes_are_throttled_and_public_routes_stay_at_the_account_limit():
    assert set(HTTP_API["DefaultRouteSettings"]) >= {"ThrottlingRateLimit", "ThrottlingBurstLimit"}
    assert public_route_keys(), "the patient link routes are public"
    assert set(HTTP_API["RouteSettings"]) == public_route_keys()
    for settings in HTTP_API["RouteSettings"].values():
        assert settings == {
            "ThrottlingRateLimit": {"Ref": "PatientLinkRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "PatientLinkBurstLimit"},
        }
    parameters = TEMPLATE["Parameters"]
    # A per-route limit is shared by every client: below the account's own (10000/5000), one
    # client could throttle every patient out.
    assert parameters["PatientLinkRateLimit"]["Default"] >= 10000
    assert parameters["PatientLinkBurstLimit"]["Default"] >= 5000


def test_cors_is_the_allowed_origins_parameter_and_no_function_answers_a_preflight():
    condition, config, otherwise = HTTP_API["CorsConfiguration"]["Fn::If"]
    assert condition == "HasCors" and otherwise == {"Ref": "AWS::NoValue"}
    assert config["AllowOrigins"] == {"Fn::Split": [",", {"Ref": "AllowedOrigins"}]}
    assert {"authorization", "content-type", "idempotency-key"} <= {h.lower() for h in config["AllowHeaders"]}
    assert {h.lower() for h in config["ExposeHeaders"]} == {"location", "retry-after"}
    methods = {
        e["Properties"]["Method"].upper()
        for f in FUNCTIONS.values()
        for e in (props(f).get("Events") or {}).values()
        if e["Type"] == "HttpApi"
    }
    assert "OPTIONS" not in methods and "ANY" not in methods
    assert methods <= set(config["AllowMethods"])


def test_the_custom_domain_is_optional():
    for resource in of_type("AWS::ApiGatewayV2::DomainName", "AWS::ApiGatewayV2::ApiMapping").values():
        assert resource["Condition"] == "HasCustomDomain"
    for name in ("DomainName", "CertificateArn"):
        assert TEMPLATE["Parameters"][name]["Default"] == ""


# -- keys, tracing, SnapStart --------------------------------------------------------------------


def test_customer_managed_keys_when_asked():
    assert TEMPLATE["Parameters"]["KmsKeyArn"]["Default"] == ""
    assert TEMPLATE["Conditions"]["UseCustomerKey"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "KmsKeyArn"}, ""]}]}
    for name in of_type("AWS::DynamoDB::Table"):
        sse = props(RESOURCES[name])["SSESpecification"]
        assert sse["KMSMasterKeyId"] == KMS_OPTION
    for name in of_type("AWS::SecretsManager::Secret"):
        assert props(RESOURCES[name])["KmsKeyId"] == KMS_OPTION
    for name in of_type("AWS::SNS::Topic"):
        assert props(RESOURCES[name])["KmsMasterKeyId"] == KMS_OPTION
    assert TEMPLATE["Globals"]["Function"]["KmsKeyArn"] == KMS_OPTION


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_may_use_the_customer_key(name):
    conditional = [p["Fn::If"] for p in props(FUNCTIONS[name]).get("Policies", []) if "Fn::If" in p]
    assert any(
        c[0] == "UseCustomerKey" and c[1]["Statement"][0]["Resource"] == {"Ref": "KmsKeyArn"} for c in conditional
    )


def test_tracing_and_snapstart_are_parameters():
    glob = TEMPLATE["Globals"]["Function"]
    assert glob["Tracing"] == {"Fn::If": ["TracingEnabled", "Active", "PassThrough"]}
    assert glob["SnapStart"]["ApplyOn"] == {"Fn::If": ["SnapStartEnabled", "PublishedVersions", "None"]}
    assert glob["AutoPublishAlias"]  # SnapStart snapshots published versions only
    runtime = glob["Runtime"]
    assert runtime.startswith("python3.") and int(runtime.removeprefix("python3.")) >= 12  # SnapStart's minimum


# -- waivers ---------------------------------------------------------------------------------------


def test_every_waiver_says_why():
    for name, resource in RESOURCES.items():
        for skip in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", []):
            assert len(str(skip.get("comment", "")).strip()) > 20, f"{name}: checkov {skip['id']} needs a reason"
    ignore_lines = re.findall(r"^\s*- ([EWI]S?\d{4})\b(.*)$", (ROOT / "template.yaml").read_text(), re.MULTILINE)
    assert ignore_lines, "the cfn-lint waivers are listed one a line"
    for rule, rest in ignore_lines:
        assert re.match(r"\s+# \S.{20,}", rest), f"cfn-lint {rule}: give the reason on its line"
