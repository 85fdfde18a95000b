import { afterAll, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { WorkflowState as W } from "../../src/engine/states.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { LeaseLostError } from "../../src/store/store.js";
import { sharedRedisUrl, stopSharedRedis } from "../helpers/redis.js";
import { sampleRecord, storeContract } from "./contract.js";

afterAll(stopSharedRedis);

/** Every store gets its own key prefix: tests never see each other's keys. */
const prefix = () => `t${randomBytes(4).toString("hex")}`;

storeContract("redis", async () => createRedisStore({ url: await sharedRedisUrl(), prefix: prefix() }));
