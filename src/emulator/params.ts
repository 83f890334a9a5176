/** Decoded (and schema-coerced) request parameters. */
export type Params = Record<string, unknown>

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

export function str(params: Params, key: string): string | undefined {
  const value = params[key]
  return typeof value === "string" ? value : undefined
}

/** A string parameter where `""` asks to clear the field. */
export function clearable(params: Params, key: string): string | null | undefined {
  const value = params[key]
  if (value === "") return null
  return typeof value === "string" ? value : undefined
}

export function int(params: Params, key: string): number | undefined {
  const value = params[key]
  return typeof value === "number" && Number.isInteger(value) ? value : undefined
}

export function bool(params: Params, key: string): boolean | undefined {
  const value = params[key]
  return typeof value === "boolean" ? value : undefined
}

export function record(params: Params, key: string): Record<string, unknown> | undefined {
  const value = params[key]
  return isRecord(value) ? value : undefined
}

export function strings(params: Params, key: string): string[] | undefined {
  const value = params[key]
  if (!Array.isArray(value)) return undefined
  return value.filter((item): item is string => typeof item === "string")
}

export function has(params: Params, key: string): boolean {
  return params[key] !== undefined
}

/**
 * Applies a `metadata` parameter: keys set to `""` are removed, `metadata=""` clears all.
 * Returns the metadata unchanged when the parameter is absent.
 */
export function applyMetadata(
  current: Record<string, string>,
  params: Params,
  key = "metadata"
): Record<string, string> {
  const value = params[key]
  if (value === undefined) return current
  if (value === "") return {}
  if (!isRecord(value)) return current
  const next = { ...current }
  for (const [name, entry] of Object.entries(value)) {
    if (entry === "" || entry === null) {
      delete next[name]
    } else {
      next[name] = String(entry)
    }
  }
  return next
}

/** Deep copy of JSON data. */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}

/** Merges plain objects deeply; `""` values in `patch` remove the key. */
export function deepMerge(
  base: Record<string, unknown>,
  patch: Record<string, unknown>
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(patch)) {
    if (value === "") {
      delete out[key]
    } else if (isRecord(value) && isRecord(out[key])) {
      out[key] = deepMerge(out[key] as Record<string, unknown>, value)
    } else {
      out[key] = value
    }
  }
  return out
}
