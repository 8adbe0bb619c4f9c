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
    __slots__ = ("name", "category", "shots", "template_id", "fp16", "target_fpr", "inspection")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    FP16_FIELD_NUMBER: _ClassVar[int]
    TARGET_FPR_FIELD_NUMBER: _ClassVar[int]
    INSPECTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    category: str
    shots: _containers.RepeatedScalarFieldContainer[bytes]
    template_id: str
    fp16: bool
    target_fpr: float
    inspection: _scoring_pb2.Inspection
    def __init__(self, name: _Optional[str] = ..., category: _Optional[str] = ..., shots: _Optional[_Iterable[bytes]] = ..., template_id: _Optional[str] = ..., fp16: bool = ..., target_fpr: _Optional[float] = ..., inspection: _Optional[_Union[_scoring_pb2.Inspection, str]] = ...) -> None: ...

class PromptSet(_message.Message):
    __slots__ = ("id", "name", "category", "shot_count", "template_id", "bundle_id", "stale", "version", "created_at", "updated_at", "calibration", "precision", "inspection")
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
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., category: _Optional[str] = ..., shot_count: _Optional[int] = ..., template_id: _Optional[str] = ..., bundle_id: _Optional[str] = ..., stale: bool = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., calibration: _Optional[_Union[Calibration, _Mapping]] = ..., precision: _Optional[str] = ..., inspection: _Optional[_Union[_scoring_pb2.Inspection, str]] = ...) -> None: ...

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
    __slots__ = ("id", "threshold", "target_fpr")
    ID_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    TARGET_FPR_FIELD_NUMBER: _ClassVar[int]
    id: str
    threshold: float
    target_fpr: float
    def __init__(self, id: _Optional[str] = ..., threshold: _Optional[float] = ..., target_fpr: _Optional[float] = ...) -> None: ...

class ReencodePromptSetRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...
