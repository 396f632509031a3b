/**
 * "Classes → labels": which annotation label each class of a registered model is scored against
 * in this project. A class takes the label of the same name by default (case ignored); the
 * project's class map can point it at another label, or mark it as not scored.
 */
import { useEffect, useMemo, useState } from "react";
import { errorMessage } from "../../api/errors";
import { listModels, type RegisteredModel } from "../explanations/api";
import { fetchClassMap, updateClassMap, type ClassMap, type ClassMapView, type Project } from "./api";

/** One class's choice in the card: the default rule, not scored, or a label. */
export type Choice = { kind: "default" } | { kind: "none" } | { kind: "label"; label: string };

const DEFAULT_VALUE = "default";
const NONE_VALUE = "none";
const LABEL_PREFIX = "label:";
/** Above this many classes the card offers a filter. */
const FILTER_FROM = 12;

/** Names compared the way the server compares them (case and surrounding spaces ignored). */
export function fold(name: string): string {
  return name.split(/\s+/).filter(Boolean).join(" ").toLowerCase();
}

function choiceValue(choice: Choice): string {
  if (choice.kind === "label") return `${LABEL_PREFIX}${choice.label}`;
  return choice.kind === "none" ? NONE_VALUE : DEFAULT_VALUE;
}

function choiceFromValue(value: string): Choice {
  if (value.startsWith(LABEL_PREFIX)) return { kind: "label", label: value.slice(LABEL_PREFIX.length) };
  return value === NONE_VALUE ? { kind: "none" } : { kind: "default" };
}

function sameChoice(a: Choice, b: Choice): boolean {
  return choiceValue(a) === choiceValue(b);
}

/** The label a class would be scored against under `choice` (null: not scored). */
export function effectiveLabel(className: string, choice: Choice, labels: readonly string[]): string | null {
  if (choice.kind === "label") return choice.label;
  if (choice.kind === "none") return null;
  return labels.find((label) => fold(label) === fold(className)) ?? null;
}

/**
 * The project's class map with this model's classes set to `choices`: "default" removes the
 * class's entry, "not scored" stores null, a label stores the label. Entries for classes of other
 * models are kept.
 */
export function applyChoices(current: ClassMap, choices: Readonly<Record<string, Choice>>): ClassMap {
  const next: ClassMap = { ...current };
  for (const [className, choice] of Object.entries(choices)) {
    for (const key of Object.keys(next)) if (fold(key) === fold(className)) delete next[key];
    if (choice.kind === "none") next[className] = null;
    else if (choice.kind === "label") next[className] = choice.label;
  }
  return next;
}

function initialChoices(view: ClassMapView): Record<string, Choice> {
  const out: Record<string, Choice> = {};
  for (const c of view.classes) {
    if (!c.explicit) out[c.class_name] = { kind: "default" };
    else if (c.label === null) out[c.class_name] = { kind: "none" };
    else out[c.class_name] = { kind: "label", label: c.label };
  }
  return out;
}

interface Props {
  project: Project;
  /** Whether the user may change the project (its researcher). */
  editable: boolean;
  onSaved: (project: Project) => void;
}

export function ClassMapCard({ project, editable, onSaved }: Props) {
  const [models, setModels] = useState<RegisteredModel[] | null>(null);
  const [modelId, setModelId] = useState<number | null>(null);
  const [loaded, setView] = useState<ClassMapView | null>(null);
  const [saved, setSaved] = useState<Record<string, Choice>>({});
  const [choices, setChoices] = useState<Record<string, Choice>>({});
  const [filter, setFilter] = useState("");
  const [saving, setSaving] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let active = true;
    listModels()
      .then((page) => {
        if (!active) return;
        setModels(page.results);
        setModelId((current) => current ?? page.results[0]?.id ?? null);
      })
      .catch((e: unknown) => {
        if (!active) return;
        setModels([]);
        setError(errorMessage(e));
      });
    return () => {
      active = false;
    };
  }, []);

  useEffect(() => {
    if (modelId === null) return undefined;
    let active = true;
    fetchClassMap(project.id, modelId)
      .then((got) => {
        if (!active) return;
        const start = initialChoices(got);
        setView(got);
        setSaved(start);
        setChoices(start);
        setError(null);
      })
      .catch((e: unknown) => {
        if (!active) return;
        setView(null);
        setError(errorMessage(e));
      });
    return () => {
      active = false;
    };
  }, [project.id, modelId, generation]);

  const changed = useMemo(
    () =>
      Object.fromEntries(
        Object.entries(choices).filter(([name, choice]) => !sameChoice(choice, saved[name] ?? { kind: "default" })),
      ),
    [choices, saved],
  );
  const dirty = Object.keys(changed).length;

  async function save() {
    if (!dirty || saving) return;
    setSaving(true);
    setError(null);
    setMessage(null);
    try {
      const updated = await updateClassMap(project.id, applyChoices(project.class_map ?? {}, changed));
      onSaved(updated);
      setMessage(`Saved ${dirty} class${dirty === 1 ? "" : "es"}.`);
      setGeneration((g) => g + 1);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setSaving(false);
    }
  }

  // The classes of the chosen model only (another model's stay hidden while these load).
  const view = loaded && loaded.model === modelId ? loaded : null;
  const labels = view?.labels ?? [];
  const needle = fold(filter);
  const rows = (view?.classes ?? []).filter((c) => !needle || fold(c.class_name).includes(needle));

  return (
    <section className="card class-map" data-testid="class-map-card" aria-labelledby="class-map-title">
      <h2 id="class-map-title">Classes → labels</h2>
      <p className="muted small class-map__intro">
        An explanation of a class is scored only against the evidence of the label its class maps to. By default a class
        takes the label of the same name (case ignored); a class with no label is not scored. The choices belong to the
        project and apply to every model with a class of that name.
      </p>
      {((models && models.length > 0) || (view && view.classes.length >= FILTER_FROM)) && (
        <div className="class-map__toolbar">
          {models && models.length > 0 && (
            <div className="field">
              <label htmlFor="class-map-model">Model</label>
              <select
                id="class-map-model"
                className="select"
                value={modelId ?? ""}
                onChange={(e) => {
                  setMessage(null);
                  setFilter("");
                  setModelId(Number(e.target.value));
                }}
                data-testid="class-map-model"
              >
                {models.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.name}
                  </option>
                ))}
              </select>
            </div>
          )}
          {view && view.classes.length >= FILTER_FROM && (
            <div className="field">
              <label htmlFor="class-map-filter">Find a class</label>
              <input
                id="class-map-filter"
                type="search"
                value={filter}
                onChange={(e) => setFilter(e.target.value)}
                placeholder={`${view.classes.length} classes`}
              />
            </div>
          )}
        </div>
      )}
      {models && models.length === 0 && !error && <p className="muted">No registered models.</p>}
      {error && (
        <p className="form-error small" role="alert">
          {error}
        </p>
      )}
      {modelId !== null && !view && !error && <p className="muted small">Loading the classes…</p>}
      {view && view.classes.length === 0 && <p className="muted">This model has no class names.</p>}
      {view && view.classes.length > 0 && (
        <>
          <div className="class-map__scroll">
            <table className="table class-map__table" data-testid="class-map-table">
              <thead>
                <tr>
                  <th scope="col">Class</th>
                  <th scope="col">Label</th>
                  <th scope="col">Scored against</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((c) => {
                  const choice = choices[c.class_name] ?? { kind: "default" };
                  const result = effectiveLabel(c.class_name, choice, labels);
                  const edited = c.class_name in changed;
                  return (
                    <tr key={c.class_name} data-testid="class-map-row" data-class={c.class_name}>
                      <th scope="row">{c.class_name}</th>
                      <td>
                        <select
                          className="select select--compact"
                          aria-label={`Label of class ${c.class_name}`}
                          value={choiceValue(choice)}
                          disabled={!editable || saving}
                          onChange={(e) => {
                            setMessage(null);
                            setChoices((previous) => ({ ...previous, [c.class_name]: choiceFromValue(e.target.value) }));
                          }}
                        >
                          <option value={DEFAULT_VALUE}>same name (default)</option>
                          <option value={NONE_VALUE}>not scored</option>
                          {labels.map((label) => (
                            <option key={label} value={`${LABEL_PREFIX}${label}`}>
                              {label}
                            </option>
                          ))}
                        </select>
                      </td>
                      <td data-testid="class-map-result" className={result === null ? "muted" : undefined}>
                        {result ?? "not scored"}
                        {edited && <span className="class-map__edited"> · changed</span>}
                      </td>
                    </tr>
                  );
                })}
                {rows.length === 0 && (
                  <tr>
                    <td colSpan={3} className="muted">
                      No class matches “{filter}”.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          {editable && (
            <div className="class-map__actions">
              <button
                type="button"
                className="button button--primary"
                onClick={() => void save()}
                disabled={!dirty || saving}
                data-testid="class-map-save"
              >
                {saving ? "Saving…" : dirty ? `Save ${dirty} change${dirty === 1 ? "" : "s"}` : "No changes"}
              </button>
              {dirty > 0 && !saving && (
                <button type="button" className="button button--ghost" onClick={() => setChoices(saved)}>
                  Discard changes
                </button>
              )}
              {message && (
                <span className="small" role="status">
                  {message}
                </span>
              )}
            </div>
          )}
        </>
      )}
    </section>
  );
}
