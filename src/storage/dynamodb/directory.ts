import { PutCommand } from '@aws-sdk/lib-dynamodb'
import type { Site } from '../../core/types.ts'
import type { Settings, SiteDirectory } from '../store.ts'
import { storageFault } from './faults.ts'
import { siteOf } from './items.ts'
import { STATE } from './keys.ts'
import { isConditionFailure, type StoreContext, unstorable } from './requests.ts'

/** Sites, their ingest keys and the settings: small items of the State table. */
export class DynamoDbDirectory implements SiteDirectory, Settings {
  constructor(private readonly c: StoreContext) {}

  async createSite(site: Site): Promise<void> {
    await this.c.requests.transact('TransactWriteItems(site)', [
      {
        Put: {
          TableName: this.c.tables.state,
          Item: { pk: STATE.sitesPk, sk: site.id, ...site },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.c.tables.state,
          // The site itself beside its key: the collector finds it in one read.
          Item: { pk: STATE.apiKey(site.api_key), sk: STATE.one, ...site },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ])
  }

  async getSite(id: string): Promise<Site | undefined> {
    if (unstorable(id)) return undefined
    const item = await this.c.requests.getItem(this.c.tables.state, { pk: STATE.sitesPk, sk: id })
    return item ? siteOf(item) : undefined
  }

  async getSiteByApiKey(apiKey: string): Promise<Site | undefined> {
    if (unstorable(apiKey)) return undefined
    const item = await this.c.requests.getItem(this.c.tables.state, {
      pk: STATE.apiKey(apiKey),
      sk: STATE.one,
    })
    return item ? siteOf(item) : undefined
  }

  async listSites(): Promise<Site[]> {
    const items = await this.c.requests.queryAll({
      TableName: this.c.tables.state,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': STATE.sitesPk },
      ConsistentRead: true,
    })
    return items
      .map(siteOf)
      .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  async setSiteApiKey(id: string, apiKey: string): Promise<void> {
    const site = await this.getSite(id)
    if (!site) return
    await this.c.requests.transact('TransactWriteItems(rotate key)', [
      {
        Update: {
          TableName: this.c.tables.state,
          Key: { pk: STATE.sitesPk, sk: id },
          UpdateExpression: 'SET api_key = :new',
          ConditionExpression: 'api_key = :old',
          ExpressionAttributeValues: { ':new': apiKey, ':old': site.api_key },
        },
      },
      {
        Delete: {
          TableName: this.c.tables.state,
          Key: { pk: STATE.apiKey(site.api_key), sk: STATE.one },
        },
      },
      {
        Put: {
          TableName: this.c.tables.state,
          Item: { pk: STATE.apiKey(apiKey), sk: STATE.one, ...site, api_key: apiKey },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ])
  }

  async getSetting(name: string): Promise<string | undefined> {
    const item = await this.c.requests.getItem(this.c.tables.state, {
      pk: STATE.setting(name),
      sk: STATE.one,
    })
    return item ? String(item.value) : undefined
  }

  async initSetting(name: string, value: string): Promise<string> {
    try {
      await this.c.doc.send(
        new PutCommand({
          TableName: this.c.tables.state,
          Item: { pk: STATE.setting(name), sk: STATE.one, value },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      return value
    } catch (error) {
      if (!isConditionFailure(error)) throw storageFault('PutItem(setting)', error)
      return (await this.getSetting(name)) as string
    }
  }

  async putSetting(name: string, value: string): Promise<void> {
    await this.c.requests.put('PutItem(setting)', {
      TableName: this.c.tables.state,
      Item: { pk: STATE.setting(name), sk: STATE.one, value },
    })
  }
}
