"""The local template reader meets what template.yaml now uses: Conditions and Fn::If (with
Fn::Equals, Fn::Not, Fn::And, Fn::Or, AWS::NoValue, Fn::Split, ...), and the HTTP API's CORS,
which the local gateway answers as API Gateway does."""

import pytest

from local import aws_stack
from local.apigw import HttpResponse
from local.gateway import allowed_origin, preflight_headers, with_cors_headers
from local.template import Conditions, Cors, cors_configuration, functions, load_template, resolve

TEMPLATE = {
    "Parameters": {"Key": {"Type": "String", "Default": ""}, "Mode": {"Type": "String", "Default": "a"}},
    "Conditions": {
        "HasKey": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Key"}, ""]}]},
        "ModeA": {"Fn::Equals": [{"Ref": "Mode"}, "a"]},
        "Both": {"Fn::And": [{"Condition": "HasKey"}, {"Condition": "ModeA"}]},
        "Either": {"Fn::Or": [{"Condition": "HasKey"}, {"Condition": "ModeA"}]},
    },
    "Resources": {},
}


def test_conditions_follow_the_parameters():
    without = Conditions(TEMPLATE, {"Key": "", "Mode": "a"})
    assert (without["HasKey"], without["ModeA"], without["Both"], without["Either"]) == (False, True, False, True)
    with_key = Conditions(TEMPLATE, {"Key": "arn:aws:kms:k", "Mode": "b"})
    assert (with_key["HasKey"], with_key["ModeA"], with_key["Both"], with_key["Either"]) == (True, False, False, True)


def test_fn_if_and_no_value_drop_properties_and_list_items():
    refs = {"Key": "", "Mode": "a"}
    value = {
        "KmsKeyId": {"Fn::If": ["HasKey", {"Ref": "Key"}, {"Ref": "AWS::NoValue"}]},
        "Mode": {"Fn::If": ["ModeA", "first", "second"]},
        "Items": ["x", {"Fn::If": ["HasKey", "y", {"Ref": "AWS::NoValue"}]}],
    }
    assert resolve(value, refs, Conditions(TEMPLATE, refs)) == {"Mode": "first", "Items": ["x"]}
    refs = {"Key": "k1", "Mode": "a"}
    assert resolve(value, refs, Conditions(TEMPLATE, refs))["KmsKeyId"] == "k1"


def test_split_join_select_and_sub():
    refs = {"Origins": "http://a.test,http://b.test", "Name": "dev"}
    assert resolve({"Fn::Split": [",", {"Ref": "Origins"}]}, refs) == ["http://a.test", "http://b.test"]
    assert resolve({"Fn::Join": ["-", ["x", {"Ref": "Name"}]]}, refs) == "x-dev"
    assert resolve({"Fn::Select": [1, {"Fn::Split": [",", {"Ref": "Origins"}]}]}, refs) == "http://b.test"
    assert resolve({"Fn::Sub": ["${A}-${Name}", {"A": "v"}]}, refs) == "v-dev"


def test_a_condition_without_the_template_says_so():
    with pytest.raises(ValueError, match="Conditions"):
        resolve({"Fn::If": ["HasKey", 1, 2]}, {})


def test_a_function_whose_condition_is_false_is_not_run_locally():
    template = {
        **TEMPLATE,
        "Resources": {
            "Optional": {
                "Type": "AWS::Serverless::Function",
                "Condition": "HasKey",
                "Properties": {"CodeUri": "functions/x/", "Handler": "app.handler"},
            }
        },
    }
    assert functions(template, {"Key": "", "Mode": "a"}) == []
    assert [f.logical_id for f in functions(template, {"Key": "k", "Mode": "a"})] == ["Optional"]


def test_the_templates_cors_follows_allowed_origins(monkeypatch):
    template = load_template()
    monkeypatch.delenv("ALLOWED_ORIGINS", raising=False)
    assert cors_configuration(template, aws_stack.parameters(template, "http://127.0.0.1:3000")) is None
    monkeypatch.setenv("ALLOWED_ORIGINS", "http://localhost:5173, https://app.example.org")
    cors = cors_configuration(template, aws_stack.parameters(template, "http://127.0.0.1:3000"))
    assert cors is not None
    assert cors.allow_origins == ("http://localhost:5173", "https://app.example.org")
    assert {"authorization", "content-type", "idempotency-key"} <= set(cors.allow_headers)
    assert set(cors.expose_headers) == {"location", "retry-after"}


CORS = Cors(
    allow_origins=("https://app.example.org", "http://localhost:*"),
    allow_methods=("GET", "POST"),
    allow_headers=("authorization",),
    expose_headers=("location", "retry-after"),
    max_age=600,
)


def test_origins_match_exactly_or_by_a_trailing_wildcard():
    assert allowed_origin(CORS, "https://app.example.org") == "https://app.example.org"
    assert allowed_origin(CORS, "http://localhost:5173") == "http://localhost:5173"
    assert allowed_origin(CORS, "https://evil.example.org") is None
    assert allowed_origin(Cors(allow_origins=("*",)), "https://any.example") == "*"


def test_preflight_and_answers_carry_the_configured_headers_only_for_allowed_origins():
    headers = dict(preflight_headers(CORS, "https://app.example.org"))
    assert headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert headers["Access-Control-Max-Age"] == "600"
    assert preflight_headers(CORS, "https://evil.example.org") == []

    answer = HttpResponse(201, [("Location", "/invitations/1"), ("Access-Control-Allow-Origin", "*")], b"{}")
    allowed = dict(with_cors_headers(answer, CORS, "https://app.example.org").headers)
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.org"  # the function's own header dropped
    assert allowed["Access-Control-Expose-Headers"] == "location,retry-after"
    refused = with_cors_headers(answer, CORS, "https://evil.example.org").headers
    assert refused == [("Location", "/invitations/1")]
