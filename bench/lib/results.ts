import type { CallsResult } from "./calls"
import type { ConcurrencyResult } from "./concurrency"
import type { LatencyRun, MemoryRun, ThroughputRun } from "./load"
import type { InstancesResult } from "./report-load"
import type { ConfigName } from "./setup"
import type { WebhookResult } from "./webhooks"

export interface BenchSettings {
  latenciesMs: number[]
  latencyCheckouts: number
  latencyWarmup: number
  concurrency: number
  /** Variants of the one product; concurrent checkouts take them in turn. */
  variants: number
  throughputRounds: number
  throughputWarmup: number
  throughputCheckouts: number
  webhookDeliveries: number
  webhookWarmup: number
  webhookConcurrency: number
  tabClosedCarts: number
  memoryWarmup: number
  memoryCheckouts: number
  memoryConfig: ConfigName
  databasePoolSize: number
  sections: string[]
}

export interface BenchMeta {
  date: string
  quick: boolean
  cores: number
  cpuModel: string
  memoryGiB: number
  os: string
  node: string
  medusa: string
  plugin: string
  official: string
  officialStripe: string
  pluginStripe: string
  loadAverageStart: number[]
  loadAverageEnd: number[]
  durationSeconds: number
}

export interface BenchResults {
  meta: BenchMeta
  settings: BenchSettings
  calls: Partial<Record<ConfigName, CallsResult>>
  latency: Partial<Record<ConfigName, LatencyRun[]>>
  throughput: Partial<Record<ConfigName, ThroughputRun>>
  webhooks?: WebhookResult
  memory?: MemoryRun
  /** Section 6: shoppers completing at once with Stripe latency, Medusa's default pool. */
  concurrency?: ConcurrencyResult
  /** Section 7: two server and two worker instances on one database. */
  instances?: InstancesResult
  /** Stripe requests the emulator answered with an error, per backend (none expected). */
  stripeErrors: Partial<Record<ConfigName, string[]>>
  /** Targets the run did not meet, each with its cause. */
  findings: string[]
}
