// The tabs of a project's settings: API keys and members, models and
// prices, LLM connections (Langfuse's /settings/... paths).

import { navigate } from "../router";

const TABS: { path: string; label: string; testId: string }[] = [
  { path: "api-keys", label: "General", testId: "settings-general" },
  { path: "models", label: "Models", testId: "settings-models" },
  { path: "llm-connections", label: "LLM connections", testId: "settings-llm-connections" },
];

export function SettingsNav({ pid, current }: { pid: string; current: string }) {
  return (
    <div class="seg tabs" data-testid="settings-nav">
      {TABS.map((t) => (
        <button key={t.path} class={t.path === current ? "on" : ""} onClick={() => navigate(`/project/${pid}/settings/${t.path}`)} data-testid={t.testId}>
          {t.label}
        </button>
      ))}
    </div>
  );
}
