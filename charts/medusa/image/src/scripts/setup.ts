// setup.ts - `medusa exec ./src/scripts/setup.js`: what a new store needs to sell, made once; a rerun changes nothing.
//
// Run by the setup Job after the migrations, on every provisioning attempt
// and every upgrade, so each step looks before it acts and finds its object
// by a name this script gives it:
//
//   the owner's admin user (ADMIN_EMAIL, ADMIN_PASSWORD)    created with its
//     emailpass identity, as `medusa user` does; an existing user keeps its
//     password (the owner may have changed it in the admin)
//   the store's name (STORE_TITLE)                          only while it is Medusa's default
//   the region REGION_NAME in REGION_CURRENCY over REGION_COUNTRIES, paid with
//     the system (manual) provider, and its tax regions
//   the currency among the store's, the default sales channel
//   a stock location "Main warehouse" with the manual fulfillment provider,
//     a shipping service zone over the region's countries and the shipping
//     option "Standard Shipping"
//   the publishable API key "Storefront" on the default sales channel (what
//     a storefront sends as x-publishable-api-key; not a secret)
//   the sample product "storefleet-sample" (SKU SF-SAMPLE-1), published
//
// Then, only when the admin user was created by this run, SEED_SCRIPT (a
// script in the image with a default export, as for `medusa exec`), so an
// optional seed runs once.  Every line it prints starts with "setup:".
import path from "path"
import type { ExecArgs } from "@medusajs/framework/types"
import { ContainerRegistrationKeys, Modules, ProductStatus } from "@medusajs/framework/utils"
import {
  createApiKeysWorkflow,
  createProductsWorkflow,
  createRegionsWorkflow,
  createSalesChannelsWorkflow,
  createShippingOptionsWorkflow,
  createShippingProfilesWorkflow,
  createStockLocationsWorkflow,
  createTaxRegionsWorkflow,
  createUsersWorkflow,
  linkSalesChannelsToApiKeyWorkflow,
  linkSalesChannelsToStockLocationWorkflow,
  updateStoresWorkflow,
} from "@medusajs/medusa/core-flows"

const LOCATION = "Main warehouse"
const FULFILLMENT_SET = "Main warehouse delivery"
const SHIPPING_OPTION = "Standard Shipping"
const API_KEY = "Storefront"
const SALES_CHANNEL = "Default Sales Channel"
const PRODUCT_HANDLE = "storefleet-sample"
const PRODUCT_SKU = "SF-SAMPLE-1"

function required(name: string): string {
  const v = process.env[name]

  if (!v) {
    throw new Error(`setup: ${name} is not set`)
  }
  return v
}

function say(what: string) {
  console.log(`setup: ${what}`)
}

export default async function setup({ container }: ExecArgs) {
  const adminEmail = required("ADMIN_EMAIL")
  const adminPassword = required("ADMIN_PASSWORD")
  const title = process.env.STORE_TITLE || ""
  const regionName = process.env.REGION_NAME || "Europe"
  const currency = (process.env.REGION_CURRENCY || "eur").toLowerCase()
  const countries = (process.env.REGION_COUNTRIES || "de")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter(Boolean)

  const link = container.resolve(ContainerRegistrationKeys.LINK)
  const query = container.resolve(ContainerRegistrationKeys.QUERY)
  const storeModule = container.resolve(Modules.STORE)
  const salesChannels = container.resolve(Modules.SALES_CHANNEL)
  const regions = container.resolve(Modules.REGION)
  const tax = container.resolve(Modules.TAX)
  const locations = container.resolve(Modules.STOCK_LOCATION)
  const fulfillment = container.resolve(Modules.FULFILLMENT)
  const apiKeys = container.resolve(Modules.API_KEY)
  const products = container.resolve(Modules.PRODUCT)

  const adminCreated = await ensureAdmin(container, adminEmail, adminPassword)

  // the store (made by Medusa at its first start), its name, currency and sales channel
  const [store] = await storeModule.listStores({}, { relations: ["supported_currencies"] })
  if (!store) {
    throw new Error("setup: Medusa has no store: did the migrations run?")
  }
  if (title && store.name !== title && store.name === "Medusa Store") {
    await updateStoresWorkflow(container).run({
      input: { selector: { id: store.id }, update: { name: title } },
    })
    say(`store named "${title}"`)
  }
  const supported = store.supported_currencies ?? []
  if (!supported.some((c) => c.currency_code === currency)) {
    const hasDefault = supported.some((c) => c.is_default)

    await updateStoresWorkflow(container).run({
      input: {
        selector: { id: store.id },
        update: {
          supported_currencies: [
            ...supported.map((c) => ({ currency_code: c.currency_code, is_default: c.is_default })),
            { currency_code: currency, is_default: !hasDefault },
          ],
        },
      },
    })
    say(`currency ${currency} added to the store`)
  }
  let channelId = store.default_sales_channel_id
  if (!channelId) {
    const [found] = await salesChannels.listSalesChannels({ name: SALES_CHANNEL })
    channelId = found?.id
    if (!channelId) {
      const { result } = await createSalesChannelsWorkflow(container).run({
        input: { salesChannelsData: [{ name: SALES_CHANNEL }] },
      })
      channelId = result[0].id
      say(`sales channel "${SALES_CHANNEL}" created`)
    }
    await updateStoresWorkflow(container).run({
      input: { selector: { id: store.id }, update: { default_sales_channel_id: channelId } },
    })
  }

  // the region and its tax regions
  let [region] = await regions.listRegions({ name: regionName })
  if (!region) {
    const { result } = await createRegionsWorkflow(container).run({
      input: {
        regions: [
          {
            name: regionName,
            currency_code: currency,
            countries,
            payment_providers: ["pp_system_default"],
          },
        ],
      },
    })
    region = result[0]
    say(`region "${regionName}" created (${currency}: ${countries.join(", ")})`)
  }
  if (!store.default_region_id) {
    await updateStoresWorkflow(container).run({
      input: { selector: { id: store.id }, update: { default_region_id: region.id } },
    })
  }
  const taxed = new Set(
    (await tax.listTaxRegions({ country_code: countries })).map((t) => t.country_code)
  )
  const untaxed = countries.filter((c) => !taxed.has(c))
  if (untaxed.length) {
    await createTaxRegionsWorkflow(container).run({
      input: untaxed.map((country_code) => ({ country_code, provider_id: "tp_system" })),
    })
    say(`tax regions created: ${untaxed.join(", ")}`)
  }

  // where orders ship from, and how
  let [location] = await locations.listStockLocations({ name: LOCATION })
  if (!location) {
    const { result } = await createStockLocationsWorkflow(container).run({
      input: {
        locations: [{ name: LOCATION, address: { address_1: "", city: "", country_code: countries[0] } }],
      },
    })
    location = result[0]
    say(`stock location "${LOCATION}" created`)
  }
  if (!store.default_location_id) {
    await updateStoresWorkflow(container).run({
      input: { selector: { id: store.id }, update: { default_location_id: location.id } },
    })
  }
  const linked = async () =>
    (
      await query.graph({
        entity: "stock_location",
        fields: ["id", "fulfillment_providers.id", "fulfillment_sets.id", "sales_channels.id"],
        filters: { id: location.id },
      })
    ).data[0] as any
  let loc = await linked()
  if (!(loc.fulfillment_providers ?? []).some((p: any) => p?.id === "manual_manual")) {
    await link.create({
      [Modules.STOCK_LOCATION]: { stock_location_id: location.id },
      [Modules.FULFILLMENT]: { fulfillment_provider_id: "manual_manual" },
    })
    say("stock location linked to the manual fulfillment provider")
  }
  let [profile] = await fulfillment.listShippingProfiles({ type: "default" })
  if (!profile) {
    const { result } = await createShippingProfilesWorkflow(container).run({
      input: { data: [{ name: "Default Shipping Profile", type: "default" }] },
    })
    profile = result[0]
    say("default shipping profile created")
  }
  let [fset] = await fulfillment.listFulfillmentSets(
    { name: FULFILLMENT_SET },
    { relations: ["service_zones"] }
  )
  if (!fset) {
    fset = await fulfillment.createFulfillmentSets({
      name: FULFILLMENT_SET,
      type: "shipping",
      service_zones: [
        {
          name: regionName,
          geo_zones: countries.map((country_code) => ({ type: "country" as const, country_code })),
        },
      ],
    })
    say(`fulfillment set "${FULFILLMENT_SET}" created`)
  }
  if (!(loc.fulfillment_sets ?? []).some((s: any) => s?.id === fset.id)) {
    await link.create({
      [Modules.STOCK_LOCATION]: { stock_location_id: location.id },
      [Modules.FULFILLMENT]: { fulfillment_set_id: fset.id },
    })
  }
  const zone = fset.service_zones[0]
  const [option] = await fulfillment.listShippingOptions({ name: SHIPPING_OPTION, service_zone: { id: zone.id } })
  if (!option) {
    await createShippingOptionsWorkflow(container).run({
      input: [
        {
          name: SHIPPING_OPTION,
          price_type: "flat",
          provider_id: "manual_manual",
          service_zone_id: zone.id,
          shipping_profile_id: profile.id,
          type: { label: "Standard", description: "Ships in 2-3 days.", code: "standard" },
          prices: [
            { currency_code: currency, amount: 5 },
            { region_id: region.id, amount: 5 },
          ],
          rules: [
            { attribute: "enabled_in_store", value: "true", operator: "eq" },
            { attribute: "is_return", value: "false", operator: "eq" },
          ],
        },
      ],
    })
    say(`shipping option "${SHIPPING_OPTION}" created`)
  }
  loc = await linked()
  if (!(loc.sales_channels ?? []).some((c: any) => c?.id === channelId)) {
    await linkSalesChannelsToStockLocationWorkflow(container).run({
      input: { id: location.id, add: [channelId] },
    })
    say("stock location linked to the default sales channel")
  }

  // what a storefront sends: the publishable key of the default sales channel
  let [key] = await apiKeys.listApiKeys({ type: "publishable", title: API_KEY })
  if (!key) {
    const { result } = await createApiKeysWorkflow(container).run({
      input: { api_keys: [{ title: API_KEY, type: "publishable", created_by: "" }] },
    })
    key = result[0]
    say(`publishable API key "${API_KEY}" created`)
  }
  const {
    data: [keyed],
  } = await query.graph({ entity: "api_key", fields: ["id", "sales_channels.id"], filters: { id: key.id } })
  if (!((keyed as any)?.sales_channels ?? []).some((c: any) => c?.id === channelId)) {
    await linkSalesChannelsToApiKeyWorkflow(container).run({ input: { id: key.id, add: [channelId] } })
    say("publishable API key linked to the default sales channel")
  }

  // something to buy
  const [sample] = await products.listProducts({ handle: PRODUCT_HANDLE })
  if (!sample) {
    await createProductsWorkflow(container).run({
      input: {
        products: [
          {
            title: "storefleet sample",
            handle: PRODUCT_HANDLE,
            description: "A sample product made when the store was set up.",
            status: ProductStatus.PUBLISHED,
            shipping_profile_id: profile.id,
            options: [{ title: "Size", values: ["One size"] }],
            variants: [
              {
                title: "One size",
                sku: PRODUCT_SKU,
                options: { Size: "One size" },
                manage_inventory: false,
                prices: [{ currency_code: currency, amount: 25 }],
              },
            ],
            sales_channels: [{ id: channelId }],
          },
        ],
      },
    })
    say(`sample product ${PRODUCT_SKU} created`)
  }

  const seed = process.env.SEED_SCRIPT
  if (seed && adminCreated) {
    const script = require(path.resolve(process.cwd(), seed))

    say(`running the seed script ${seed}`)
    await (script.default ?? script)({ container, args: [] })
  }
  say("done")
}

/*
 * The owner's admin user and its emailpass identity, as `medusa user` makes
 * them; true when this run created the user.  Either half found alone (a run
 * stopped between the two) is completed, never duplicated.
 */
async function ensureAdmin(container: ExecArgs["container"], email: string, password: string) {
  const users = container.resolve(Modules.USER)
  const auth = container.resolve(Modules.AUTH)
  let [user] = await users.listUsers({ email })
  let created = false

  if (!user) {
    const { result } = await createUsersWorkflow(container).run({ input: { users: [{ email }] } })
    user = result[0]
    created = true
    say(`admin user ${email} created`)
  }
  const [identity] = await auth.listProviderIdentities({ entity_id: email, provider: "emailpass" })
  if (!identity) {
    const { authIdentity, error } = await auth.register("emailpass", { body: { email, password } })

    if (error || !authIdentity) {
      throw new Error(`setup: cannot register the admin's password: ${error}`)
    }
    await auth.updateAuthIdentities({ id: authIdentity.id, app_metadata: { user_id: user.id } })
    say(`admin user ${email} can sign in with the generated password`)
  } else if (created) {
    const ai = await auth.retrieveAuthIdentity(identity.auth_identity_id!)

    await auth.updateAuthIdentities({
      id: ai.id,
      app_metadata: { ...(ai.app_metadata ?? {}), user_id: user.id },
    })
  } else {
    say(`admin user ${email} exists`)
  }
  return created
}
