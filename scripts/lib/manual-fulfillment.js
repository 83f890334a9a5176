/**
 * A minimal manual fulfillment provider (id `manual`), copied into the demo and test Medusa
 * apps as `dist/services/manual-fulfillment.js`. Medusa v1 core ships no fulfillment provider,
 * and regions and shipping options need one.
 */

const { AbstractFulfillmentService } = require("@medusajs/medusa")

class ManualFulfillmentService extends AbstractFulfillmentService {
  static identifier = "manual"

  constructor(container, options) {
    super(container, options)
  }

  async getFulfillmentOptions() {
    return [{ id: "manual-fulfillment" }, { id: "manual-fulfillment-return", is_return: true }]
  }

  async validateFulfillmentData(_optionData, data) {
    return data
  }

  async validateOption() {
    return true
  }

  async canCalculate() {
    return false
  }

  async calculatePrice() {
    throw new Error("Manual fulfillment has flat-rate prices only")
  }

  async createFulfillment() {
    return {}
  }

  async cancelFulfillment() {
    return {}
  }

  async createReturn() {
    return {}
  }

  async getFulfillmentDocuments() {
    return []
  }

  async getReturnDocuments() {
    return []
  }

  async getShipmentDocuments() {
    return []
  }

  async retrieveDocuments() {
    return []
  }
}

exports.default = ManualFulfillmentService
