"""Fixes for moto bugs that stop our real templates deploying on the emulator,
or their resources reading back (drift) as AWS answers them.

Loaded into every Python process of the repo's .venv through a .pth file that
scripts/setup-test-tools.sh installs, so `.venv/bin/moto_server` picks it up
however a test starts it. Each patch fixes moto, never our templates: what we
deploy to moto is byte-for-byte what we would deploy to AWS. Each patch checks
that the code it replaces still has the bug, and stays out of the way once a
moto upgrade fixes it.
"""


def _kms_key_tags_from_cloudformation():
    # moto 5.2.5: AWS::KMS::Key passes the template's Tags ([{Key, Value}]) to
    # KmsBackend.create_key, whose tagger reads [{TagKey, TagValue}] (the KMS
    # API's shape), so any tagged key fails with KeyError: 'TagKey' and the
    # whole stack with "Fn::GetAtt references undefined resource".
    try:
        from moto.kms import models
    except Exception:
        return
    original = models.Key.create_from_cloudformation_json.__func__
    if getattr(original, "_upstack_patched", False):
        return

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, *args, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        tags = properties.get("Tags")
        if tags and all("Key" in tag for tag in tags):
            properties = dict(properties)
            properties["Tags"] = [{"TagKey": t["Key"], "TagValue": t.get("Value", "")} for t in tags]
            cloudformation_json = dict(cloudformation_json, Properties=properties)
        return original(cls, resource_name, cloudformation_json, *args, **kwargs)

    create_from_cloudformation_json._upstack_patched = True
    models.Key.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


def _kms_key_policy_from_cloudformation():
    # moto 5.2.5: AWS::KMS::Key stores the template's KeyPolicy as given, and
    # CloudFormation gives it as a JSON object, so the key's policy is a
    # Python dict: DescribeKey (whose policy check json.loads it) answers
    # HTTP 500 and GetKeyPolicy a policy that is not a string. KMS keeps a
    # key policy as JSON text, and CloudFormation passes an object policy to
    # CreateKey as its JSON text: this stores that text.
    import functools
    import json

    try:
        from moto.kms import models
    except Exception:
        return
    original = models.Key.create_from_cloudformation_json.__func__
    if getattr(original, "_upstack_key_policy", False):
        return

    @functools.wraps(original)
    def create_from_cloudformation_json(cls, *args, **kwargs):
        key = original(cls, *args, **kwargs)
        if not isinstance(key.policy, str):
            key.policy = json.dumps(key.policy)
        return key

    create_from_cloudformation_json._upstack_key_policy = True
    models.Key.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


def _sns_topic_arn_attribute():
    # moto 5.2.5: AWS::SNS::Topic answers Fn::GetAtt only for TopicName, but
    # CloudFormation documents TopicArn too (and it is what a FIFO topic's
    # subscribers and policies need), so the stack fails validation on moto.
    try:
        from moto.sns import models
    except Exception:
        return
    topic = models.Topic
    if topic.has_cfn_attr("TopicArn"):
        return
    original_has = topic.has_cfn_attr.__func__
    original_get = topic.get_cfn_attribute

    def has_cfn_attr(cls, attr):
        return attr == "TopicArn" or original_has(cls, attr)

    def get_cfn_attribute(self, attribute_name):
        if attribute_name == "TopicArn":
            return self.arn
        return original_get(self, attribute_name)

    topic.has_cfn_attr = classmethod(has_cfn_attr)
    topic.get_cfn_attribute = get_cfn_attribute


def _iam_role_policies_from_cloudformation():
    # moto 5.2.5: AWS::IAM::Role puts each Policies[].PolicyDocument on the
    # role as given, a JSON object from CloudFormation, so GetRolePolicy
    # answers the URL-encoded Python repr of a dict ("{'Version': ...").
    # IAM keeps a policy document as JSON text and answers it URL-encoded,
    # the same for a policy CloudFormation put as for PutRolePolicy: this
    # stores the JSON text. (moto also ignores the role's ManagedPolicyArns;
    # attaching them here would need its role delete, which refuses a role
    # with attached policies, and its role update to follow: not patched.)
    import functools
    import json

    try:
        from moto.iam import models
    except Exception:
        return
    original = models.Role.create_from_cloudformation_json.__func__
    if getattr(original, "_upstack_patched", False):
        return

    @functools.wraps(original)
    def create_from_cloudformation_json(cls, *args, **kwargs):
        role = original(cls, *args, **kwargs)
        for name, document in role.policies.items():
            if not isinstance(document, str):
                # default=str: a YAML template's unquoted Version loads as a date.
                role.policies[name] = json.dumps(document, default=str)
        return role

    create_from_cloudformation_json._upstack_patched = True
    models.Role.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


def _lambda_permission_physical_id():
    # moto 5.2.5: AWS::Lambda::Permission adds its statement under a random
    # statement ID and gives the resource no physical ID, so
    # DescribeStackResources lists it without one and Ref to it yields
    # moto's Python object. CloudFormation names the statement after the
    # stack and logical ID (stack-Logical-RANDOM, moto's generated resource
    # name) and, since the type moved to the resource registry, its physical
    # ID is "<FunctionName as given>|<statement ID>".
    import functools

    try:
        from moto.awslambda import models
    except Exception:
        return
    permission = models.Permission
    original = permission.create_from_cloudformation_json.__func__
    if hasattr(permission, "physical_resource_id") or getattr(original, "_upstack_patched", False):
        return

    @functools.wraps(original)
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, *args, **kwargs):
        properties = dict(cloudformation_json["Properties"], StatementId=resource_name)
        cloudformation_json = dict(cloudformation_json, Properties=properties)
        created = original(cls, resource_name, cloudformation_json, *args, **kwargs)
        created.physical_resource_id = f"{properties['FunctionName']}|{resource_name}"
        return created

    create_from_cloudformation_json._upstack_patched = True
    permission.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


def _lambda_event_invoke_config_from_cloudformation():
    # moto 5.2.5 implements Put/Get/DeleteFunctionEventInvokeConfig, but its
    # CloudFormation has no AWS::Lambda::EventInvokeConfig: the resource is
    # skipped (a warning), so the function has no such config and
    # DescribeStackResources lists an entry without ID or type. This makes
    # the resource with moto's own backend calls. CloudFormation's physical
    # ID for it is "<FunctionName>|<Qualifier>" (its primary identifier).
    # moto's Put appends a config and Get answers the first, where Lambda's
    # Put replaces it: the function's configs are cleared first.
    try:
        from moto.awslambda import models
        from moto.awslambda.exceptions import UnknownFunctionException
        from moto.core.common_models import CloudFormationModel
    except Exception:
        return
    resource_type = "AWS::Lambda::EventInvokeConfig"
    if resource_type in {model.cloudformation_type() for model in CloudFormationModel.__subclasses__()}:
        return

    class EventInvokeConfigResource(CloudFormationModel):
        __module__ = models.__name__  # moto's model registry reads the service from it

        def __init__(self, physical_resource_id):
            self.physical_resource_id = physical_resource_id

        @staticmethod
        def cloudformation_name_type():
            return ""

        @staticmethod
        def cloudformation_type():
            return resource_type

        @classmethod
        def has_cfn_attr(cls, attr):
            return False

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **_):
            properties = cloudformation_json["Properties"]
            config = {
                name: int(value) if name.startswith("Maximum") else value
                for name, value in properties.items()
                if name in ("DestinationConfig", "MaximumRetryAttempts", "MaximumEventAgeInSeconds")
            }
            backend = models.get_backend(account_id, region_name)
            backend.get_function(properties["FunctionName"]).event_invoke_config = []
            backend.put_function_event_invoke_config(properties["FunctionName"], config)
            return cls(f"{properties['FunctionName']}|{properties.get('Qualifier', '$LATEST')}")

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, **where):
            # Put replaces the function's config: an update is a create.
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, **where)

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            backend = models.get_backend(account_id, region_name)
            try:
                function = backend.get_function(resource_name.split("|")[0])
            except UnknownFunctionException:
                return  # deleted with its function
            function.event_invoke_config = []

    models.EventInvokeConfigResource = EventInvokeConfigResource


# CloudWatch's Smithy RPC v2 CBOR protocol: requests go to
# POST /service/<ServiceShape>/operation/<Operation> with a CBOR body.
_CBOR_PREFIX = "/service/GraniteServiceVersion20100801/operation/"


def _s3_bucket_policy_conditions():
    # moto 5.2.5 evaluates a bucket policy with no request context: its
    # condition check only knows StringEquals and is never given a value, so
    # every other operator (Null, Bool, ...) counts as met. A Deny scoped by
    # a condition then denies every request it names: the asset bucket's
    # write-once statement (deny PutObject *without* If-None-Match) refused
    # conditional uploads too. This evaluates bucket policies with the
    # request's own condition keys; moto's permission model around it (the
    # statement's effect, Action and Resource patterns, any principal) is
    # kept as moto has it.
    import fnmatch
    import json
    import threading

    try:
        from moto.iam.access_control import IAMPolicy, PermissionResult
        from moto.s3 import models, responses
    except Exception:
        return
    if getattr(models.FakeBucket.get_permission, "_upstack_patched", False):
        return
    # Still broken? A Deny whose condition cannot hold must not deny.
    probe = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"Null": {"s3:if-none-match": "false"}},
            }
        ]
    }
    if IAMPolicy(json.dumps(probe)).is_action_permitted("s3:PutObject", "arn:aws:s3:::b/k") != PermissionResult.DENIED:
        return
    local = threading.local()

    def context(action):
        request = getattr(local, "request", None)
        if request is None:
            return {}
        headers = request.headers
        values = {}
        url = getattr(request, "url", "") or ""
        values["aws:securetransport"] = "true" if url.startswith("https://") else "false"
        for header, key in (("If-None-Match", "s3:if-none-match"), ("If-Match", "s3:if-match")):
            if headers.get(header) is not None:
                values[key] = headers.get(header)
        if action in ("s3:PutObject", "s3:PostObject"):
            values["s3:objectcreationoperation"] = "true"
        return values

    def as_list(value):
        return value if isinstance(value, list) else [value]

    def condition_holds(operator, key, expected, values):
        actual = values.get(key.lower())
        expected = [str(item).lower() if isinstance(item, bool) else str(item) for item in as_list(expected)]
        if operator == "Null":
            return (actual is None) == (expected[0].lower() == "true")
        if actual is None:
            return operator.startswith("StringNot")
        if operator == "Bool":
            return actual.lower() in [item.lower() for item in expected]
        if operator == "StringEquals":
            return actual in expected
        if operator == "StringNotEquals":
            return actual not in expected
        if operator == "StringLike":
            return any(fnmatch.fnmatchcase(actual, item) for item in expected)
        # An operator this shim does not know: not met (AWS would have
        # refused the policy; never silently widen or narrow it here).
        return False

    def matches(patterns, value):
        return any(fnmatch.fnmatchcase(value, pattern) for pattern in as_list(patterns))

    def get_permission(self, action, resource):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy)
        values = context(action)
        permitted = False
        for statement in as_list(policy.get("Statement", [])):
            if "NotAction" in statement:
                if matches(statement["NotAction"], action):
                    continue
            elif not matches(statement.get("Action", []), action):
                continue
            if "Resource" in statement and not matches(statement["Resource"], resource):
                continue
            conditions = statement.get("Condition", {})
            if not all(
                condition_holds(operator, key, expected, values)
                for operator, pairs in conditions.items()
                for key, expected in pairs.items()
            ):
                continue
            if statement.get("Effect") == "Deny":
                return PermissionResult.DENIED
            permitted = True
        return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL

    def with_request(original):
        def handler(self, request, *args, **kwargs):
            local.request = request
            try:
                return original(self, request, *args, **kwargs)
            finally:
                local.request = None

        return handler

    get_permission._upstack_patched = True
    models.FakeBucket.get_permission = get_permission
    responses.S3Response._key_response = with_request(responses.S3Response._key_response)
    responses.S3Response._bucket_response = with_request(responses.S3Response._bucket_response)


# The root element S3 gives the XML answers that moto's model extras
# (moto/s3/2006-03-01/service-2.moto-extras.json) leave without one.
_S3_XML_ROOTS = {
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketNotification": "NotificationConfiguration",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
    "ListParts": "ListPartsResult",
}


def _s3_xml_root_elements():
    # moto 5.2.5 serializes S3's XML answers from its service model, whose
    # extras name each answer's root element (resultWrapper); without one
    # the serializer falls back to "<Operation>Response". The extras miss
    # GetBucketVersioning (<GetBucketVersioningResponse>, where S3 answers
    # <VersioningConfiguration>), GetBucketNotification (moto's operation
    # for a bucket with no notifications: S3 answers an empty
    # <NotificationConfiguration/>), GetBucketAccelerateConfiguration and
    # ListParts. botocore reads any root, but the Rust SDK checks it and
    # took moto's answer for "HTTP 200 with no AWS error code or message".
    # This names S3's root for each of them that the model leaves unnamed.
    try:
        from moto.core import utils
    except Exception:
        return
    original = utils._load_service_model
    if getattr(original, "_upstack_patched", False):
        return

    def _load_service_model(service_name, model_name):
        model = original(service_name, model_name)
        if service_name == "s3" and model_name == "service-2":
            for operation, root in _S3_XML_ROOTS.items():
                output = model.get("operations", {}).get(operation, {}).get("output")
                if output is not None and "resultWrapper" not in output:
                    output["resultWrapper"] = root
        return model

    _load_service_model._upstack_patched = True
    utils._load_service_model = _load_service_model


def _cloudwatch_rpc_v2_cbor():
    # moto 5.2.5 serves CloudWatch's query protocol only (getmoto/moto#9195),
    # while aws-sdk-cloudwatch (Rust, >= 1.110) speaks RPC v2 CBOR: every
    # call got moto's HTML 404. This translates at the WSGI edge, with
    # botocore's own CloudWatch model (moto's dependency) doing the shapes:
    # CBOR request -> the same operation as a query request -> moto -> its
    # XML answer parsed by the model -> CBOR. moto's logic is untouched.
    try:
        import cbor2
        from moto.moto_server import werkzeug_app
    except Exception:
        return
    app_class = werkzeug_app.DomainDispatcherApplication
    original = app_class.__call__
    if getattr(original, "_upstack_patched", False):
        return

    import datetime
    import io
    from urllib.parse import urlencode

    import botocore.parsers
    import botocore.serialize
    import botocore.session

    model = botocore.session.get_session().get_service_model("cloudwatch")
    serializer = botocore.serialize.create_serializer("query")
    parser = botocore.parsers.create_parser("query")

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(_CBOR_PREFIX):
            return original(self, environ, start_response)
        operation = model.operation_model(path[len(_CBOR_PREFIX):])
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        params = cbor2.loads(raw) if raw else {}
        query = serializer.serialize_to_request(params, operation)
        body = urlencode(query["body"]).encode()
        environ = dict(environ)
        environ.update(
            {
                "PATH_INFO": "/",
                "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": io.BytesIO(body),
            }
        )
        environ.pop("HTTP_SMITHY_PROTOCOL", None)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = headers
            return lambda data: None

        chunks = original(self, environ, capture)
        answer = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        status = captured.get("status", "500 Internal Server Error")
        code = int(status.split()[0])
        parsed = parser.parse(
            {"body": answer, "headers": {}, "status_code": code}, operation.output_shape
        )
        parsed.pop("ResponseMetadata", None)
        if code >= 300:
            error = parsed.get("Error", {})
            parsed = {
                "__type": error.get("Code", "InternalFailure"),
                "message": error.get("Message", ""),
            }
        encoded = cbor2.dumps(parsed, timezone=datetime.timezone.utc, datetime_as_timestamp=True)
        headers = [
            (name, value)
            for name, value in captured.get("headers", [])
            if name.lower() not in ("content-type", "content-length")
        ]
        headers += [
            ("Content-Type", "application/cbor"),
            ("Content-Length", str(len(encoded))),
            ("smithy-protocol", "rpc-v2-cbor"),
        ]
        start_response(status, headers)
        return [encoded]

    __call__._upstack_patched = True
    app_class.__call__ = __call__


def _lambda_get_account_settings():
    # moto 5.2.5 has no GetAccountSettings (GET /2016-08-19/account-settings/,
    # answered 404), which deploy's account pre-flight calls before any
    # change. This answers it from moto's own Lambda backend: AWS's default
    # limits, the concurrency quota moto enforces in PutFunctionConcurrency
    # (MOTO_LAMBDA_CONCURRENCY_QUOTA, else AWS's default of 1000), unreserved
    # as that quota minus every function's reservation, and the functions'
    # code sizes as the storage used.
    import json
    import os

    try:
        from moto.awslambda import urls
        from moto.awslambda.responses import LambdaResponse
    except Exception:
        return
    if hasattr(LambdaResponse, "get_account_settings"):
        return
    # The SDKs send the trailing slash (the model's requestUri).
    route = r"{0}/(?P<api_version>[^/]+)/account-settings/$"

    def get_account_settings(self):
        functions = list(self.backend.list_functions())
        limit = int(os.environ.get("MOTO_LAMBDA_CONCURRENCY_QUOTA", "1000"))
        reserved = sum(int(fn.reserved_concurrency or 0) for fn in functions)
        settings = {
            "AccountLimit": {
                "TotalCodeSize": 80530636800,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": limit - reserved,
            },
            "AccountUsage": {
                "TotalCodeSize": sum(int(fn.code_size or 0) for fn in functions),
                "FunctionCount": len(functions),
            },
        }
        return 200, {}, json.dumps(settings)

    LambdaResponse.get_account_settings = get_account_settings
    urls.url_paths[route] = LambdaResponse.dispatch


# Each module's patches, run in order once it has executed.
_PATCHES = {
    "moto.core.utils": (_s3_xml_root_elements,),
    "moto.kms.models": (_kms_key_tags_from_cloudformation, _kms_key_policy_from_cloudformation),
    "moto.iam.models": (_iam_role_policies_from_cloudformation,),
    "moto.awslambda.models": (
        _lambda_permission_physical_id,
        _lambda_event_invoke_config_from_cloudformation,
    ),
    "moto.awslambda.urls": (_lambda_get_account_settings,),
    "moto.sns.models": (_sns_topic_arn_attribute,),
    "moto.moto_server.werkzeug_app": (_cloudwatch_rpc_v2_cbor,),
    "moto.s3.responses": (_s3_bucket_policy_conditions,),
}


def apply():
    for patches in _PATCHES.values():
        for patch in patches:
            patch()


class _PatchAfterExec:
    """Wraps a patched moto module's loader so its patch runs right after it
    executes. Importing moto at interpreter start instead would slow down
    every Python process in the venv (cfn-lint, checkov, pip)."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        for patch in _PATCHES[module.__name__]:
            patch()


class _PatchOnImport:
    def find_spec(self, name, path=None, target=None):
        if name not in _PATCHES:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchAfterExec(spec.loader)
        return spec


def install():
    import sys

    if not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())
