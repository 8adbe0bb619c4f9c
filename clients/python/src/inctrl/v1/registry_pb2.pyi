import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from inctrl.v1 import scoring_pb2 as _scoring_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreatePromptSetRequest(_message.Message):
    __slots__ = ("name", "category", "shots", "template_id", "fp16", "target_fpr", "inspection", "model")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    FP16_FIELD_NUMBER: _ClassVar[int]
    TARGET_FPR_FIELD_NUMBER: _ClassVar[int]
    INSPECTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    name: str
    category: str
    shots: _containers.RepeatedScalarFieldContainer[bytes]
    template_id: str
    fp16: bool
    target_fpr: float
    inspection: _scoring_pb2.Inspection
    model: str
    def __init__(self, name: _Optional[str] = ..., category: _Optional[str] = ..., shots: _Optional[_Iterable[bytes]] = ..., template_id: _Optional[str] = ..., fp16: bool = ..., target_fpr: _Optional[float] = ..., inspection: _Optional[_Union[_scoring_pb2.Inspection, str]] = ..., model: _Optional[str] = ...) -> None: ...

class PromptSet(_message.Message):
    __slots__ = ("id", "name", "category", "shot_count", "template_id", "bundle_id", "stale", "version", "created_at", "updated_at", "calibration", "precision", "inspection", "model", "revision", "encodings")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SHOT_COUNT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_ID_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    INSPECTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ENCODINGS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    category: str
    shot_count: int
    template_id: str
    bundle_id: str
    stale: bool
    version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    calibration: Calibration
    precision: str
    inspection: _scoring_pb2.Inspection
    model: str
    revision: int
    encodings: _containers.RepeatedCompositeFieldContainer[PromptSetEncoding]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., category: _Optional[str] = ..., shot_count: _Optional[int] = ..., template_id: _Optional[str] = ..., bundle_id: _Optional[str] = ..., stale: bool = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., calibration: _Optional[_Union[Calibration, _Mapping]] = ..., precision: _Optional[str] = ..., inspection: _Optional[_Union[_scoring_pb2.Inspection, str]] = ..., model: _Optional[str] = ..., revision: _Optional[int] = ..., encodings: _Optional[_Iterable[_Union[PromptSetEncoding, _Mapping]]] = ...) -> None: ...

class PromptSetEncoding(_message.Message):
    __slots__ = ("model", "model_version", "bundle_id", "encoder", "precision", "state", "calibration", "version", "updated_at", "error")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_ID_FIELD_NUMBER: _ClassVar[int]
    ENCODER_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    model: str
    model_version: int
    bundle_id: str
    encoder: str
    precision: str
    state: str
    calibration: Calibration
    version: int
    updated_at: _timestamp_pb2.Timestamp
    error: str
    def __init__(self, model: _Optional[str] = ..., model_version: _Optional[int] = ..., bundle_id: _Optional[str] = ..., encoder: _Optional[str] = ..., precision: _Optional[str] = ..., state: _Optional[str] = ..., calibration: _Optional[_Union[Calibration, _Mapping]] = ..., version: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class Calibration(_message.Message):
    __slots__ = ("shot_scores", "suggested_threshold", "threshold", "threshold_overridden", "outlier_shots", "warnings", "fp16_max_abs_diff", "target_fpr", "expected_fpr", "method")
    SHOT_SCORES_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_SHOTS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    FP16_MAX_ABS_DIFF_FIELD_NUMBER: _ClassVar[int]
    TARGET_FPR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FPR_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    shot_scores: _containers.RepeatedScalarFieldContainer[float]
    suggested_threshold: float
    threshold: float
    threshold_overridden: bool
    outlier_shots: _containers.RepeatedScalarFieldContainer[int]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    fp16_max_abs_diff: float
    target_fpr: float
    expected_fpr: float
    method: str
    def __init__(self, shot_scores: _Optional[_Iterable[float]] = ..., suggested_threshold: _Optional[float] = ..., threshold: _Optional[float] = ..., threshold_overridden: bool = ..., outlier_shots: _Optional[_Iterable[int]] = ..., warnings: _Optional[_Iterable[str]] = ..., fp16_max_abs_diff: _Optional[float] = ..., target_fpr: _Optional[float] = ..., expected_fpr: _Optional[float] = ..., method: _Optional[str] = ...) -> None: ...

class GetPromptSetRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListPromptSetsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPromptSetsResponse(_message.Message):
    __slots__ = ("prompt_sets", "next_page_token")
    PROMPT_SETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    prompt_sets: _containers.RepeatedCompositeFieldContainer[PromptSet]
    next_page_token: str
    def __init__(self, prompt_sets: _Optional[_Iterable[_Union[PromptSet, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeletePromptSetRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeletePromptSetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetThresholdRequest(_message.Message):
    __slots__ = ("id", "threshold", "target_fpr", "model_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    TARGET_FPR_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    threshold: float
    target_fpr: float
    model_version: int
    def __init__(self, id: _Optional[str] = ..., threshold: _Optional[float] = ..., target_fpr: _Optional[float] = ..., model_version: _Optional[int] = ...) -> None: ...

class ReencodePromptSetRequest(_message.Message):
    __slots__ = ("id", "model_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    model_version: int
    def __init__(self, id: _Optional[str] = ..., model_version: _Optional[int] = ...) -> None: ...

class AddShotsRequest(_message.Message):
    __slots__ = ("id", "shots", "query_ids")
    ID_FIELD_NUMBER: _ClassVar[int]
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    QUERY_IDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    shots: _containers.RepeatedScalarFieldContainer[bytes]
    query_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., shots: _Optional[_Iterable[bytes]] = ..., query_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RemoveShotsRequest(_message.Message):
    __slots__ = ("id", "shots")
    ID_FIELD_NUMBER: _ClassVar[int]
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    shots: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, id: _Optional[str] = ..., shots: _Optional[_Iterable[int]] = ...) -> None: ...

class ListRevisionsRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListRevisionsResponse(_message.Message):
    __slots__ = ("revisions", "current")
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    revisions: _containers.RepeatedCompositeFieldContainer[PromptSetRevision]
    current: int
    def __init__(self, revisions: _Optional[_Iterable[_Union[PromptSetRevision, _Mapping]]] = ..., current: _Optional[int] = ...) -> None: ...

class PromptSetRevision(_message.Message):
    __slots__ = ("revision", "shot_count", "reason", "created_at")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SHOT_COUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    revision: int
    shot_count: int
    reason: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, revision: _Optional[int] = ..., shot_count: _Optional[int] = ..., reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RollbackPromptSetRequest(_message.Message):
    __slots__ = ("id", "revision")
    ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    id: str
    revision: int
    def __init__(self, id: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...
