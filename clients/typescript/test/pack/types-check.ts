// Publish check: type-checked (tsc --module nodenext) in the fresh ESM and CJS projects against the packed .d.ts.
import { InvalidArgumentError, connect, type ListRevisionsResponse, type PromptSet, type ScoreResponse } from "@inctrl/client";

const c = connect("localhost:9000", { apiKey: "k", tls: false });
const answer: Promise<ScoreResponse> = c.score(new Uint8Array([1]), { promptSetId: "p" });
const isBadImage = (e: unknown): boolean => e instanceof InvalidArgumentError && e.codeName === "INVALID_ARGUMENT";
// @ts-expect-error the declarations are real types, not `any`: timeoutMs is a number
connect("localhost:9000", { timeoutMs: "30s" });
void answer.catch(isBadImage);
// model choice and growing prompt sets (issues 19, 22) are typed too
const byVersion: Promise<ScoreResponse> = c.score(new Uint8Array([1]), { promptSetId: "p" }, { model: "m", modelVersion: 2 });
const grown: Promise<PromptSet> = c.addShots("p", { queryIds: ["q"] });
const revisions: Promise<ListRevisionsResponse> = c.listRevisions("p");
// @ts-expect-error revisions are numbers
void c.rollbackPromptSet("p", "1");
void Promise.allSettled([byVersion, grown, revisions]);
c.close();
