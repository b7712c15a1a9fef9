#!/usr/bin/python3
"""A non-Node client of istio.v1.auth.IstioCertificateService, for meshca's interop tests.

Uses Debian's python3-grpcio (the C-core gRPC stack, like Envoy's) and python3-protobuf. The
request and response messages are built from descriptors at run time, written from the same wire
contract as proto/istio/v1/auth/ca.proto (field numbers 1, 3, 4 and 1), so no generated code or
grpc-tools is needed.

Usage: istio_ca_client.py [--raw] ADDRESS ROOT_CERT_FILE TOKEN_FILE|- CSR_FILE [VALIDITY_SECONDS]
With --raw, CSR_FILE holds a whole request body, sent as is (bytes a protobuf library would not
write: not protobuf at all, map entries without key or value...).
Prints one JSON object: {"code": <grpc status name>, "details": str, "cert_chain": [str]}.
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, struct_pb2

try:
    from google.protobuf.message_factory import GetMessageClass as _message_class
except ImportError:  # protobuf < 4.22
    from google.protobuf import message_factory

    _factory = message_factory.MessageFactory()
    _message_class = _factory.GetPrototype


def _messages():
    pool = descriptor_pool.Default()
    pool.FindFileByName("google/protobuf/struct.proto")  # registered by struct_pb2
    proto = descriptor_pb2.FileDescriptorProto(
        name="meshca_interop/ca.proto",
        package="istio.v1.auth",
        syntax="proto3",
        dependency=["google/protobuf/struct.proto"],
    )
    F = descriptor_pb2.FieldDescriptorProto
    request = proto.message_type.add(name="IstioCertificateRequest")
    request.field.add(name="csr", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    request.field.add(name="validity_duration", number=3, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    request.field.add(
        name="metadata",
        number=4,
        type=F.TYPE_MESSAGE,
        type_name=".google.protobuf.Struct",
        label=F.LABEL_OPTIONAL,
    )
    response = proto.message_type.add(name="IstioCertificateResponse")
    response.field.add(name="cert_chain", number=1, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
    pool.Add(proto)
    return (
        _message_class(pool.FindMessageTypeByName("istio.v1.auth.IstioCertificateRequest")),
        _message_class(pool.FindMessageTypeByName("istio.v1.auth.IstioCertificateResponse")),
    )


def main(argv):
    raw = len(argv) > 1 and argv[1] == "--raw"
    if raw:
        argv = argv[:1] + argv[2:]
    address, root_file, token_file, csr_file = argv[1:5]
    validity = int(argv[5]) if len(argv) > 5 else 0
    Request, Response = _messages()
    with open(root_file, "rb") as f:
        credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    with open(csr_file, "rb") as f:
        body = f.read()
    metadata = [("clusterid", "Kubernetes")]
    if token_file != "-":
        with open(token_file) as f:
            metadata.append(("authorization", "Bearer " + f.read().strip()))

    if raw:
        request, serializer = body, lambda b: b
    else:
        struct = struct_pb2.Struct()
        struct.update({"CertSigner": ""})  # what istio-agent always sends
        request = Request(csr=body.decode("utf-8"), validity_duration=validity, metadata=struct)
        serializer = lambda m: m.SerializeToString()
    options = [("grpc.keepalive_time_ms", 30000), ("grpc.keepalive_timeout_ms", 10000)]
    with grpc.secure_channel(address, credentials, options=options) as channel:
        call = channel.unary_unary(
            "/istio.v1.auth.IstioCertificateService/CreateCertificate",
            request_serializer=serializer,
            response_deserializer=Response.FromString,
        )
        try:
            response = call(request, metadata=metadata, timeout=30)
            result = {"code": "OK", "details": "", "cert_chain": list(response.cert_chain)}
        except grpc.RpcError as error:
            result = {"code": error.code().name, "details": error.details(), "cert_chain": []}
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
