import { invalidRequest, resourceMissing } from "./errors"
import { int, isRecord, str, strings, type Params } from "./params"
import type { Store } from "./store"

export interface ListObject<T> {
  object: "list"
  data: T[]
  has_more: boolean
  url: string
}

export interface SearchResultObject<T> {
  object: "search_result"
  data: T[]
  has_more: boolean
  next_page: string | null
  url: string
  total_count?: number
}

function limitOf(params: Params): number {
  const limit = int(params, "limit") ?? 10
  if (limit < 1) {
    throw invalidRequest("This value must be greater than or equal to 1.", {
      code: "parameter_invalid_integer",
      param: "limit",
    })
  }
  if (limit > 100) {
    throw invalidRequest("This value must be less than or equal to 100.", {
      code: "parameter_invalid_integer",
      param: "limit",
    })
  }
  return limit
}

/** `created` filters: an exact timestamp or a range hash. */
export function createdMatcher(params: Params, key = "created"): (created: number) => boolean {
  const value = params[key]
  if (typeof value === "number") return (created) => created === value
  if (!isRecord(value)) return () => true
  const bound = (name: string): number | undefined =>
    typeof value[name] === "number" ? (value[name] as number) : undefined
  const gt = bound("gt")
  const gte = bound("gte")
  const lt = bound("lt")
  const lte = bound("lte")
  return (created) =>
    (gt === undefined || created > gt) &&
    (gte === undefined || created >= gte) &&
    (lt === undefined || created < lt) &&
    (lte === undefined || created <= lte)
}

/**
 * A page of `items` (given oldest first, listed newest first) following Stripe's cursor
 * parameters `limit`, `starting_after` and `ending_before`.
 */
export function paginate<T extends { id: string }>(
  items: readonly T[],
  params: Params,
  url: string
): ListObject<T> {
  const limit = limitOf(params)
  const newestFirst = [...items].reverse()
  const startingAfter = str(params, "starting_after")
  const endingBefore = str(params, "ending_before")
  let data: T[]
  let hasMore: boolean
  if (startingAfter) {
    const index = newestFirst.findIndex((item) => item.id === startingAfter)
    if (index < 0) throw resourceMissing("object", startingAfter, "starting_after")
    const rest = newestFirst.slice(index + 1)
    data = rest.slice(0, limit)
    hasMore = rest.length > limit
  } else if (endingBefore) {
    const index = newestFirst.findIndex((item) => item.id === endingBefore)
    if (index < 0) throw resourceMissing("object", endingBefore, "ending_before")
    const before = newestFirst.slice(0, index)
    data = before.slice(Math.max(0, before.length - limit))
    hasMore = before.length > limit
  } else {
    data = newestFirst.slice(0, limit)
    hasMore = newestFirst.length > limit
  }
  return { object: "list", data, has_more: hasMore, url }
}

// ---------------------------------------------------------------------------------------------
// Expansion

function cannotExpand(path: string): never {
  throw invalidRequest(`This property cannot be expanded (${path}).`, { param: "expand" })
}

const ID_PATTERN = /^[a-z]{2,5}_[A-Za-z0-9_]+$/

function refundList(store: Store, chargeId: string): ListObject<object> {
  const ids = store.chargeRefunds.get(chargeId) ?? []
  const data = ids
    .map((id) => store.refunds.get(id))
    .filter((refund): refund is NonNullable<typeof refund> => !!refund)
    .reverse()
  return { object: "list", data, has_more: false, url: `/v1/charges/${chargeId}/refunds` }
}

function expandPath(store: Store, value: unknown, parts: string[], path: string): unknown {
  if (parts.length === 0) return value
  if (Array.isArray(value)) return value.map((item) => expandPath(store, item, parts, path))
  if (!isRecord(value)) return value
  const [head, ...rest] = parts
  if (head === "refunds" && value.object === "charge" && typeof value.id === "string") {
    return { ...value, refunds: expandPath(store, refundList(store, value.id), rest, path) }
  }
  if (!(head in value)) cannotExpand(path)
  let child = value[head]
  if (typeof child === "string") {
    if (!ID_PATTERN.test(child)) cannotExpand(path)
    const found = store.lookup(child)
    if (found === undefined) return value
    child = found
  }
  if (child === null || child === undefined) return value
  return { ...value, [head]: expandPath(store, child, rest, path) }
}

/** Applies `expand[]` paths to a response object without touching stored objects. */
export function expand(store: Store, value: unknown, params: Params): unknown {
  const paths = strings(params, "expand")
  if (!paths || paths.length === 0) return value
  let out = value
  for (const path of paths) {
    const parts = path.split(".")
    if (parts.length > 4) {
      throw invalidRequest(
        `You cannot expand more than 4 levels of a property. Property: ${path}`,
        { param: "expand" }
      )
    }
    out = expandPath(store, out, parts, path)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Search

export type SearchOperator = ":" | "~" | ">" | "<" | ">=" | "<="

export interface SearchClause {
  negate: boolean
  field: string
  metadataKey?: string
  operator: SearchOperator
  value: string | number | null
}

export interface SearchQuery {
  joiner: "AND" | "OR"
  clauses: SearchClause[]
}

function queryError(message: string): never {
  throw invalidRequest(`Invalid search query: ${message}`, { param: "query" })
}

/** Parses Stripe's search query language (`metadata['k']:'v' AND status:'succeeded'`). */
export function parseSearchQuery(query: string, fields: readonly string[]): SearchQuery {
  let pos = 0
  const clauses: SearchClause[] = []
  let joiner: "AND" | "OR" | undefined
  const skipSpaces = (): void => {
    while (pos < query.length && /\s/.test(query[pos])) pos++
  }
  const readQuoted = (): string => {
    const quote = query[pos]
    pos++
    let out = ""
    while (pos < query.length && query[pos] !== quote) {
      if (query[pos] === "\\" && pos + 1 < query.length) pos++
      out += query[pos]
      pos++
    }
    if (pos >= query.length) queryError(`unterminated string at position ${pos}`)
    pos++
    return out
  }
  for (;;) {
    skipSpaces()
    if (pos >= query.length) break
    if (clauses.length > 0) {
      const word = /^(AND|OR)\b/.exec(query.slice(pos))
      if (!word) queryError(`expected AND or OR at position ${pos}`)
      const next = word[1] as "AND" | "OR"
      if (joiner && joiner !== next) queryError("AND and OR cannot be combined in one query")
      joiner = next
      pos += next.length
      skipSpaces()
    }
    let negate = false
    if (query[pos] === "-") {
      negate = true
      pos++
    }
    const name = /^[a-z_][a-z0-9_.]*/.exec(query.slice(pos))
    if (!name) queryError(`expected a field name at position ${pos}`)
    const field = name[0]
    pos += field.length
    let metadataKey: string | undefined
    if (field === "metadata") {
      if (query[pos] !== "[") queryError("metadata must be followed by ['key']")
      pos++
      if (query[pos] !== "'" && query[pos] !== '"') queryError("metadata keys must be quoted")
      metadataKey = readQuoted()
      if (query[pos] !== "]") queryError("expected ] after the metadata key")
      pos++
    }
    if (!fields.includes(field)) {
      queryError(`${field} is not a supported search field (supported: ${fields.join(", ")})`)
    }
    const operator = /^(>=|<=|:|~|>|<)/.exec(query.slice(pos))
    if (!operator) queryError(`expected an operator after ${field}`)
    pos += operator[1].length
    let value: string | number | null
    if (query[pos] === "'" || query[pos] === '"') {
      value = readQuoted()
    } else {
      const literal = /^[^\s]+/.exec(query.slice(pos))
      if (!literal) queryError(`expected a value after ${field}${operator[1]}`)
      pos += literal[0].length
      if (literal[0] === "null") value = null
      else if (/^-?\d+(\.\d+)?$/.test(literal[0])) value = Number(literal[0])
      else queryError(`values must be quoted: ${literal[0]}`)
    }
    clauses.push({
      negate,
      field,
      ...(metadataKey !== undefined ? { metadataKey } : {}),
      operator: operator[1] as SearchOperator,
      value,
    })
  }
  if (clauses.length === 0) queryError("the query is empty")
  return { joiner: joiner ?? "AND", clauses }
}

function fieldValue(object: Record<string, unknown>, clause: SearchClause): unknown {
  if (clause.metadataKey !== undefined) {
    const metadata = object.metadata
    return isRecord(metadata) ? metadata[clause.metadataKey] : undefined
  }
  let current: unknown = object
  for (const part of clause.field.split(".")) {
    current = isRecord(current) ? current[part] : undefined
  }
  return current
}

function clauseMatches(object: Record<string, unknown>, clause: SearchClause): boolean {
  const actual = fieldValue(object, clause)
  const expected = clause.value
  let result: boolean
  switch (clause.operator) {
    case ":":
      if (expected === null) result = actual === null || actual === undefined || actual === ""
      else if (typeof actual === "number") result = actual === Number(expected)
      else if (typeof actual === "string") {
        result =
          clause.field === "email"
            ? actual.toLowerCase() === String(expected).toLowerCase()
            : actual === String(expected)
      } else if (typeof actual === "boolean") result = String(actual) === String(expected)
      else result = false
      break
    case "~":
      result =
        typeof actual === "string" && actual.toLowerCase().includes(String(expected).toLowerCase())
      break
    default: {
      const a = typeof actual === "number" ? actual : Number.NaN
      const b = Number(expected)
      result =
        clause.operator === ">"
          ? a > b
          : clause.operator === "<"
            ? a < b
            : clause.operator === ">="
              ? a >= b
              : a <= b
    }
  }
  return clause.negate ? !result : result
}

export function matchesSearch(object: object, query: SearchQuery): boolean {
  const record = object as Record<string, unknown>
  return query.joiner === "AND"
    ? query.clauses.every((clause) => clauseMatches(record, clause))
    : query.clauses.some((clause) => clauseMatches(record, clause))
}

/** Runs a search over `items` (oldest first), paging with the opaque `page` cursor. */
export function search<T extends object>(
  items: readonly T[],
  params: Params,
  fields: readonly string[],
  url: string
): SearchResultObject<T> {
  const query = parseSearchQuery(str(params, "query") ?? "", fields)
  const limit = limitOf(params)
  const matches = [...items].reverse().filter((item) => matchesSearch(item, query))
  const page = str(params, "page")
  let offset = 0
  if (page) {
    const decoded = Number(Buffer.from(page, "base64url").toString("utf8"))
    if (!Number.isInteger(decoded) || decoded < 0) {
      throw invalidRequest(`Invalid page: ${page}`, { param: "page" })
    }
    offset = decoded
  }
  const data = matches.slice(offset, offset + limit)
  const hasMore = matches.length > offset + limit
  const expandTotal = strings(params, "expand")?.includes("total_count") ?? false
  return {
    object: "search_result",
    data,
    has_more: hasMore,
    next_page: hasMore ? Buffer.from(String(offset + limit), "utf8").toString("base64url") : null,
    url,
    ...(expandTotal ? { total_count: matches.length } : {}),
  }
}
