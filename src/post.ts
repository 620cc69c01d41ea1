import { post } from './cleanup.js'
import { ActionsHost } from './host.js'

await post(new ActionsHost())
