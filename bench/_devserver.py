"""`python -m bench._devserver`: the dev server (local/devserver.py) for the bench's local sections,
with one stopgap: a template resource that the local stack does not provision (yet) gets its
logical id as its Ref, and an SES configuration set is created in moto under its name, so that the
functions' environment resolves and SES accepts the emails. Everything else is the dev server as is."""

from typing import Any

from local import aws_stack, devserver

_provision = aws_stack.provision


def _provision_all(
    template: dict[str, Any], params: dict[str, Any], dynamodb_endpoint: str, moto_endpoint: str, *rest: Any
) -> Any:
    stack = _provision(template, params, dynamodb_endpoint, moto_endpoint, *rest)
    for logical_id, resource in template.get("Resources", {}).items():
        if logical_id in stack.refs:
            continue
        stack.refs[logical_id] = logical_id
        if resource.get("Type") == "AWS::SES::ConfigurationSet":
            ses = aws_stack.aws_client("ses", moto_endpoint)
            ses.create_configuration_set(ConfigurationSet={"Name": logical_id})
    return stack


aws_stack.provision = _provision_all

if __name__ == "__main__":
    devserver.main()
