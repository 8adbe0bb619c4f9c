export { InctrlClient, connect, type ConnectOptions, type CallOpts } from "./client.js";
export { ScoreStream, buildRequest, inspectionValue, type InspectionMode, type ModelChoice, type Prompts, type Submitted, type StreamResult } from "./stream.js";
export * from "./errors.js";
export { DEFAULT_RETRY, NO_RETRY, RETRIED_METHODS, backoffMs, defaultAuthority, grpcTarget, hintedDelayMs, serviceConfig, type RetryPolicy } from "./retry.js";
export type {
  ScoreRequest, ScoreResponse, ModelInfo, StageTimings, InlinePrompts, ListModelsResponse, ModelSummary, ModelVersionInfo,
} from "./gen/inctrl/v1/scoring.js";
export type { PromptSet, Calibration, PromptSetEncoding, ListRevisionsResponse, PromptSetRevision } from "./gen/inctrl/v1/registry.js";
