// order-placed.ts - on order.placed, stamps the order's metadata with the process that handled the event.
//
// The stamp (metadata.storefleet_order_placed: worker mode, pid, host name,
// time) is what tools/check-engines-medusa.sh reads back through the admin
// API to prove the event crossed from the server to the worker: the server
// emits order.placed when a cart completes, and only the Redis event bus
// hands it to another process.  With the in-memory event bus the server
// handles it itself (mode "server"), and the check fails.
import os from "os"
import type { SubscriberArgs, SubscriberConfig } from "@medusajs/framework"
import { ContainerRegistrationKeys, Modules } from "@medusajs/framework/utils"

export default async function orderPlacedHandler({ event, container }: SubscriberArgs<{ id: string }>) {
  const logger = container.resolve(ContainerRegistrationKeys.LOGGER)
  const config = container.resolve(ContainerRegistrationKeys.CONFIG_MODULE)
  const orders = container.resolve(Modules.ORDER)
  const id = event.data.id
  const order = await orders.retrieveOrder(id, { select: ["id", "metadata"] })
  const stamp = {
    mode: config.projectConfig.workerMode ?? "shared",
    pid: process.pid,
    host: os.hostname(),
    at: new Date().toISOString(),
  }

  await orders.updateOrders(id, {
    metadata: { ...(order.metadata ?? {}), storefleet_order_placed: stamp },
  })
  logger.info(`storefleet: order ${id} placed; handled by the ${stamp.mode} (pid ${stamp.pid})`)
}

export const config: SubscriberConfig = {
  event: "order.placed",
}
