"""InCTRL serve client: ``connect(address, api_key)`` then ``score`` / ``open_stream`` / ``register_prompt_set`` /
``add_shots`` / ``list_models``."""
from .client import Client, build_request, connect
from .errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    InctrlError,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    from_code,
    from_code_name,
    from_rpc_error,
)
from .retry import NO_RETRY, RetryPolicy
from .stream import ScoreStream

__all__ = [
    "Client", "connect", "build_request", "ScoreStream", "RetryPolicy", "NO_RETRY",
    "InctrlError", "Cancelled", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
    "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "Unimplemented", "Internal",
    "Unavailable", "Unauthenticated", "from_code", "from_code_name", "from_rpc_error",
]
