/** The fields of Medusa v1 Store and Admin API objects the tests read. */

export interface Country {
  iso_2: string
  [key: string]: unknown
}

export interface PaymentProvider {
  id: string
  is_installed: boolean
}

export interface Region {
  id: string
  name: string
  currency_code: string
  countries: Country[]
  payment_providers: PaymentProvider[]
  [key: string]: unknown
}

export interface ProductVariant {
  id: string
  sku: string | null
  title: string
  inventory_quantity: number
  [key: string]: unknown
}

export interface Product {
  id: string
  handle: string
  variants: ProductVariant[]
  [key: string]: unknown
}

export interface ShippingOption {
  id: string
  name: string
  amount: number | null
  [key: string]: unknown
}

export interface PaymentSession {
  id: string
  provider_id: string
  is_selected: boolean | null
  is_initiated: boolean
  status: string
  amount: number
  data: Record<string, unknown>
  [key: string]: unknown
}

export interface Payment {
  id: string
  provider_id: string
  amount: number
  currency_code: string
  amount_refunded: number
  captured_at: string | null
  canceled_at: string | null
  data: Record<string, unknown>
  [key: string]: unknown
}

export interface Cart {
  id: string
  email: string | null
  region_id: string
  region?: Region
  total?: number
  completed_at: string | null
  payment_sessions: PaymentSession[]
  payment_session: PaymentSession | null
  payment?: Payment | null
  shipping_methods: { id: string; shipping_option_id: string }[]
  items: { id: string; variant_id: string; quantity: number }[]
  [key: string]: unknown
}

export interface Order {
  id: string
  display_id: number
  cart_id: string
  status: string
  payment_status: string
  fulfillment_status: string
  currency_code: string
  total?: number
  payments: Payment[]
  [key: string]: unknown
}

/** `POST /store/carts/:id/complete` */
export type CompleteCartResponse =
  | { type: "order"; data: Order }
  | { type: "cart"; data: Cart }
  | { type: "swap"; data: Record<string, unknown> }
