export { InctrlClient, connect, type ConnectOptions, type CallOpts } from "./client";
export { ScoreStream, buildRequest, type Prompts, type Submitted, type StreamResult } from "./stream";
export * from "./errors";
export { DEFAULT_RETRY, NO_RETRY, RETRIED_METHODS, backoffMs, defaultAuthority, grpcTarget, serviceConfig, type RetryPolicy } from "./retry";
export type { ScoreRequest, ScoreResponse, ModelInfo, StageTimings, InlinePrompts } from "./gen/inctrl/v1/scoring";
export type { PromptSet, Calibration } from "./gen/inctrl/v1/registry";
