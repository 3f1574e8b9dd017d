"""Fixes for moto bugs that stop our real templates deploying on the emulator.

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


# CloudWatch's Smithy RPC v2 CBOR protocol: requests go to
# POST /service/<ServiceShape>/operation/<Operation> with a CBOR body.
_CBOR_PREFIX = "/service/GraniteServiceVersion20100801/operation/"


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


_PATCHES = {
    "moto.kms.models": _kms_key_tags_from_cloudformation,
    "moto.sns.models": _sns_topic_arn_attribute,
    "moto.moto_server.werkzeug_app": _cloudwatch_rpc_v2_cbor,
}


def apply():
    for patch in _PATCHES.values():
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
        _PATCHES[module.__name__]()


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
