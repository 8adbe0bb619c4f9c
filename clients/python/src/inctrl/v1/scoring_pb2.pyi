from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Inspection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSPECTION_UNSPECIFIED: _ClassVar[Inspection]
    INSPECTION_CENTER_CROP: _ClassVar[Inspection]
    INSPECTION_RESIZE: _ClassVar[Inspection]
    INSPECTION_TILES: _ClassVar[Inspection]
INSPECTION_UNSPECIFIED: Inspection
INSPECTION_CENTER_CROP: Inspection
INSPECTION_RESIZE: Inspection
INSPECTION_TILES: Inspection

class ScoreRequest(_message.Message):
    __slots__ = ("request_id", "image", "inline", "prompt_set_id", "omit_map")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    INLINE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_SET_ID_FIELD_NUMBER: _ClassVar[int]
    OMIT_MAP_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    image: bytes
    inline: InlinePrompts
    prompt_set_id: str
    omit_map: bool
    def __init__(self, request_id: _Optional[str] = ..., image: _Optional[bytes] = ..., inline: _Optional[_Union[InlinePrompts, _Mapping]] = ..., prompt_set_id: _Optional[str] = ..., omit_map: bool = ...) -> None: ...

class InlinePrompts(_message.Message):
    __slots__ = ("shots", "category", "inspection")
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    INSPECTION_FIELD_NUMBER: _ClassVar[int]
    shots: _containers.RepeatedScalarFieldContainer[bytes]
    category: str
    inspection: Inspection
    def __init__(self, shots: _Optional[_Iterable[bytes]] = ..., category: _Optional[str] = ..., inspection: _Optional[_Union[Inspection, str]] = ...) -> None: ...

class ScoreResponse(_message.Message):
    __slots__ = ("request_id", "score", "s_h", "s_p", "s_i", "s_a", "map", "map_height", "map_width", "bundle_id", "timings", "error", "is_anomalous", "threshold")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    S_H_FIELD_NUMBER: _ClassVar[int]
    S_P_FIELD_NUMBER: _ClassVar[int]
    S_I_FIELD_NUMBER: _ClassVar[int]
    S_A_FIELD_NUMBER: _ClassVar[int]
    MAP_FIELD_NUMBER: _ClassVar[int]
    MAP_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MAP_WIDTH_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_ID_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    IS_ANOMALOUS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    score: float
    s_h: float
    s_p: float
    s_i: float
    s_a: float
    map: _containers.RepeatedScalarFieldContainer[float]
    map_height: int
    map_width: int
    bundle_id: str
    timings: StageTimings
    error: Error
    is_anomalous: bool
    threshold: float
    def __init__(self, request_id: _Optional[str] = ..., score: _Optional[float] = ..., s_h: _Optional[float] = ..., s_p: _Optional[float] = ..., s_i: _Optional[float] = ..., s_a: _Optional[float] = ..., map: _Optional[_Iterable[float]] = ..., map_height: _Optional[int] = ..., map_width: _Optional[int] = ..., bundle_id: _Optional[str] = ..., timings: _Optional[_Union[StageTimings, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., is_anomalous: bool = ..., threshold: _Optional[float] = ...) -> None: ...

class StageTimings(_message.Message):
    __slots__ = ("decode_us", "preprocess_us", "encode_us", "score_us", "queue_us", "total_us")
    DECODE_US_FIELD_NUMBER: _ClassVar[int]
    PREPROCESS_US_FIELD_NUMBER: _ClassVar[int]
    ENCODE_US_FIELD_NUMBER: _ClassVar[int]
    SCORE_US_FIELD_NUMBER: _ClassVar[int]
    QUEUE_US_FIELD_NUMBER: _ClassVar[int]
    TOTAL_US_FIELD_NUMBER: _ClassVar[int]
    decode_us: int
    preprocess_us: int
    encode_us: int
    score_us: int
    queue_us: int
    total_us: int
    def __init__(self, decode_us: _Optional[int] = ..., preprocess_us: _Optional[int] = ..., encode_us: _Optional[int] = ..., score_us: _Optional[int] = ..., queue_us: _Optional[int] = ..., total_us: _Optional[int] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ModelInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("bundle_id", "kind", "arch", "random_weights", "weights_description", "image_size", "map_height", "map_width", "tapped_blocks", "manifest_json", "devices", "mode", "precision")
    BUNDLE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    RANDOM_WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAP_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MAP_WIDTH_FIELD_NUMBER: _ClassVar[int]
    TAPPED_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_JSON_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    bundle_id: str
    kind: str
    arch: str
    random_weights: bool
    weights_description: str
    image_size: int
    map_height: int
    map_width: int
    tapped_blocks: _containers.RepeatedScalarFieldContainer[int]
    manifest_json: str
    devices: _containers.RepeatedScalarFieldContainer[str]
    mode: str
    precision: str
    def __init__(self, bundle_id: _Optional[str] = ..., kind: _Optional[str] = ..., arch: _Optional[str] = ..., random_weights: bool = ..., weights_description: _Optional[str] = ..., image_size: _Optional[int] = ..., map_height: _Optional[int] = ..., map_width: _Optional[int] = ..., tapped_blocks: _Optional[_Iterable[int]] = ..., manifest_json: _Optional[str] = ..., devices: _Optional[_Iterable[str]] = ..., mode: _Optional[str] = ..., precision: _Optional[str] = ...) -> None: ...
