// Publish check: type-checked (tsc --module nodenext) in the fresh ESM and CJS projects against the packed .d.ts.
import { InvalidArgumentError, connect, type ScoreResponse } from "@inctrl/client";

const c = connect("localhost:9000", { apiKey: "k", tls: false });
const answer: Promise<ScoreResponse> = c.score(new Uint8Array([1]), { promptSetId: "p" });
const isBadImage = (e: unknown): boolean => e instanceof InvalidArgumentError && e.codeName === "INVALID_ARGUMENT";
// @ts-expect-error the declarations are real types, not `any`: timeoutMs is a number
connect("localhost:9000", { timeoutMs: "30s" });
void answer.catch(isBadImage);
c.close();
