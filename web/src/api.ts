// The UI's only channel to the server: JSON over /api/ui with the session
// cookie. Errors carry the server's message so forms can show it as is.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// Called on any 401 so the app can show the sign-in page.
let onUnauthenticated: () => void = () => {};
export function setUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  let res: Response;
  try {
    res = await fetch("/api/ui" + path, init);
  } catch {
    throw new ApiError(0, "The server cannot be reached.");
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const message =
      data && typeof data === "object" && "message" in data
        ? String((data as { message: unknown }).message)
        : `Request failed (${res.status})`;
    if (res.status === 401 && !path.startsWith("/auth/sign-in")) onUnauthenticated();
    throw new ApiError(res.status, message);
  }
  return data as T;
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body ?? {});
export const del = <T>(path: string) => api<T>("DELETE", path);

export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") u.set(k, String(v));
  }
  const s = u.toString();
  return s ? "?" + s : "";
}

// ---- shapes of /api/ui responses

export type Role = "OWNER" | "ADMIN" | "MEMBER" | "VIEWER" | "NONE";

export interface ProjectRef {
  id: string;
  name: string;
  role: Role;
}

export interface OrgRef {
  id: string;
  name: string;
  role: Role;
  projects: ProjectRef[];
}

export interface SessionInfo {
  user: { id: string; email: string; name: string };
  organizations: OrgRef[];
  signUpDisabled: boolean;
}

export interface PageMeta {
  page: number;
  limit: number;
  totalItems: number;
  totalPages: number;
  observationFilterTruncated?: boolean;
  // Set when the list was searched for text: how many traces were searched.
  search?: { searched: number; rowBudget: number; budgetReached: boolean };
}

export interface TraceRow {
  id: string;
  timestamp: string;
  name: string | null;
  userId: string | null;
  sessionId: string | null;
  release: string | null;
  version: string | null;
  environment: string;
  tags: string[];
  latency: number | null;
  totalCost: number;
  observationCount: number;
  bookmarked: boolean;
  input: string | null;
  output: string | null;
  scores: Record<string, ScoreAverage>;
}

export interface BatchExport {
  id: string;
  table: string;
  format: "csv" | "jsonl";
  status: string;
  rows: number;
  rowLimit: number;
  truncated: boolean;
  sizeBytes: number;
  fileName: string;
  url: string;
  expiresAt: string;
}

export interface ScoreName {
  name: string;
  dataType: string;
  count: number;
}

export interface TraceFull {
  id: string;
  timestamp: string;
  name: string | null;
  input: unknown;
  output: unknown;
  sessionId: string | null;
  release: string | null;
  version: string | null;
  userId: string | null;
  metadata: Record<string, unknown>;
  tags: string[];
  environment: string;
  latency: number | null;
  totalCost: number;
  observationCount: number;
}

// Observations of a trace as parallel arrays (see src/ui/ui_api.cc).
export interface ObservationColumns {
  count: number;
  id: string[];
  parent: number[];
  type: string[];
  name: (string | null)[];
  start: number[];
  end: (number | null)[];
  completionStart: (number | null)[];
  level: string[];
  model: (string | null)[];
  usage: ([number, number, number] | null)[];
  cost: (number | null)[];
  statusMessage: (string | null)[];
}

export interface Score {
  id: string;
  name: string;
  value: number | null;
  stringValue?: string | null;
  dataType: string;
  source: string;
  comment: string | null;
  observationId: string | null;
  timestamp: string;
}

export interface TraceDetail {
  trace: TraceFull;
  observations: ObservationColumns;
  scores: Score[];
}

export interface ObservationFull {
  id: string;
  traceId: string;
  type: string;
  name: string | null;
  startTime: string;
  endTime: string | null;
  completionStartTime: string | null;
  model: string | null;
  modelParameters: Record<string, unknown> | null;
  input: unknown;
  output: unknown;
  metadata: Record<string, unknown> | null;
  level: string;
  statusMessage: string | null;
  version: string | null;
  usageDetails: Record<string, number>;
  costDetails: Record<string, number>;
  promptName?: string | null;
  promptVersion?: number | null;
}

export interface SessionRow {
  id: string;
  createdAt: string;
  environment: string;
  traceCount: number;
  totalCost: number;
  userCount: number;
}

export interface SessionDetail {
  id: string;
  createdAt: string | null;
  environment: string | null;
  traceCount: number;
  totalCost: number;
  truncated: boolean;
  traces: TraceFull[];
}

export interface UserRow {
  userId: string;
  traceCount: number;
  totalCost: number;
  observationCount: number;
}

export interface ApiKey {
  id: string;
  publicKey: string;
  displaySecretKey: string;
  note: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  secretKey?: string;
}

// ---- models and LLM connections (the shapes of /api/public/models and
// /api/public/llm-connections)

export interface ModelDef {
  id: string;
  modelName: string;
  matchPattern: string;
  startDate: string | null;
  unit: string | null;
  inputPrice: number | null;
  outputPrice: number | null;
  totalPrice: number | null;
  tokenizerId: string | null;
  isLangfuseManaged: boolean;
  createdAt: string;
  prices: Record<string, { price: number }>;
}

export interface LlmConnection {
  id: string;
  provider: string;
  adapter: string;
  displaySecretKey: string;
  baseURL: string | null;
  customModels: string[];
  withDefaultModels: boolean;
  extraHeaderKeys: string[];
  createdAt: string;
  updatedAt: string;
}

export type MetricsRow = Record<string, string | number | null>;

// ---- prompts, datasets, scores

export interface PromptRow {
  name: string;
  type: "text" | "chat";
  versionCount: number;
  latestVersion: number;
  labels: string[];
  tags: string[];
  lastUpdatedAt: string;
}

export type ChatMessage = { role: string; content: string; type?: string } | { type: "placeholder"; name: string };

export interface PromptVersion {
  id: string;
  name: string;
  version: number;
  type: "text" | "chat";
  prompt: string | ChatMessage[];
  config: unknown;
  labels: string[];
  tags: string[];
  commitMessage: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface PromptDetail {
  name: string;
  type: "text" | "chat";
  tags: string[];
  versionCount: number;
  versions: PromptVersion[];
}

export interface DatasetRow {
  id: string;
  name: string;
  description: string | null;
  metadata: unknown;
  createdAt: string;
  updatedAt: string;
  itemCount: number;
  runCount: number;
  lastRunAt: string | null;
}

export interface DatasetItem {
  id: string;
  status: string;
  input: unknown;
  expectedOutput: unknown;
  metadata: unknown;
  sourceTraceId: string | null;
  sourceObservationId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ScoreAverage {
  count: number;
  average: number | null;
  values?: string[]; // of categorical scores
}

export interface DatasetRunRow {
  id: string;
  name: string;
  description: string | null;
  metadata: unknown;
  createdAt: string;
  itemCount: number;
  scores: Record<string, ScoreAverage>;
}

export interface DatasetDetail {
  dataset: DatasetRow;
  items: DatasetItem[];
  itemsMeta: PageMeta;
  runs: DatasetRunRow[];
  runCount: number;
  scoreNames: string[];
}

export interface RunItemRow {
  id: string;
  datasetItemId: string;
  traceId: string;
  observationId: string | null;
  createdAt: string;
  input: string | null;
  expectedOutput: string | null;
  output: string | null;
  latency: number | null;
  totalCost: number | null;
  scores: ScoreFull[];
}

export interface DatasetRunDetail {
  dataset: DatasetRow;
  run: { id: string; name: string; description: string | null; metadata: unknown; createdAt: string };
  items: RunItemRow[];
  truncated: boolean;
  scoreNames: string[];
}

export interface ScoreFull extends Score {
  traceId: string | null;
  sessionId?: string | null;
  datasetRunId?: string | null;
  configId?: string | null;
  environment?: string;
}

export interface ScoreConfig {
  id: string;
  name: string;
  dataType: string;
  isArchived: boolean;
  minValue: number | null;
  maxValue: number | null;
  categories: { value: number; label: string }[] | null;
  description: string | null;
  createdAt: string;
}
