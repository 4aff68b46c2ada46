"""What AWS is asked for: the SMS attributes, the clients' bounds, and each function's rights."""

from typing import Any

from invitations import runtime
from invitations.adapters.ses_sns import AwsMessenger
from local.template import load_template, resources_of_type


class _Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def publish(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(("publish", kwargs))
        return {"MessageId": "sns-1"}


def test_an_sms_is_transactional_and_signed_with_the_sender_id():
    sns = _Recording()
    message_id = AwsMessenger(lambda service: sns, "no-reply@example.org", "Cabinet").send_sms(
        "+33612345678", "Bonjour"
    )
    assert message_id == "sns-1"
    [(_, sent)] = sns.calls
    attributes = {name: value["StringValue"] for name, value in sent["MessageAttributes"].items()}
    assert attributes == {"AWS.SNS.SMS.SMSType": "Transactional", "AWS.SNS.SMS.SenderID": "Cabinet"}


def test_delivery_clients_give_up_well_inside_the_function_timeout(aws_env):
    function_timeout = load_template()["Globals"]["Function"]["Timeout"]
    for service in ("ses", "sns", "events", "secretsmanager"):
        config = runtime.client(service).meta.config
        attempts = config.retries["total_max_attempts"]
        assert attempts * (config.connect_timeout + config.read_timeout) < function_timeout / 2, service


def _actions(function: dict[str, Any], effect: str = "Allow") -> set[str]:
    statements = [s for policy in function["Properties"].get("Policies", []) for s in policy.get("Statement", [])]
    return {a for s in statements if s["Effect"] == effect for a in s["Action"]}


def test_least_privilege_per_function():
    functions = dict(resources_of_type(load_template(), "AWS::Serverless::Function"))
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    senders = {name for name, fn in functions.items() if _actions(fn) & {"ses:SendEmail", "sns:Publish"}}
    assert senders == {"DispatchFunction", "SweepOutboxFunction"}  # no request waits for a provider
    publishers = {name for name, fn in functions.items() if "events:PutEvents" in _actions(fn)}
    assert publishers == senders  # events go out through the outbox only
    for name in senders:
        assert "sns:Publish" in _actions(functions[name], "Deny")  # SMS only, never a topic
    assert not _actions(functions["ListInvitesFunction"]) & writes
    assert "secretsmanager:GetSecretValue" not in _actions(functions["ExpireInvitesFunction"])


def test_samconfig_has_the_dev_and_prod_deployments_the_readme_gives():
    import tomllib

    from tests.support import ROOT

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    for env in ("dev", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert config[env]["global"]["parameters"]["stack_name"].endswith(env)
        assert f"Stage={env}" in deploy["parameter_overrides"]
    assert "--config-env dev" in (ROOT / "README.md").read_text()
