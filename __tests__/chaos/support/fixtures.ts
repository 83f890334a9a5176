import { findRegion, findVariantId, type Region } from "../../support"
import type { ChaosContext } from "./context"

export interface CheckoutTarget {
  region: Region
  regionId: string
  variantId: string
  country: string
}

/** Where the chaos shoppers buy: the seeded product in the Europe (EUR) region. */
export async function checkoutTarget(ctx: ChaosContext, currency = "eur"): Promise<CheckoutTarget> {
  const region = await findRegion(ctx.store, currency)
  const variantId = await findVariantId(ctx.store)
  const country = region.countries[0]?.iso_2
  if (!country) {
    throw new Error(`Region ${region.name} has no country`)
  }
  return { region, regionId: region.id, variantId, country }
}
