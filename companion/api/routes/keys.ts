import { KeyCreateRequest } from '../../service/requests.ts';
import { defineRoute } from '../route.ts';
import { IdParam } from './params.ts';
import { KeyCreated, KeyList, KeyRevoked } from '../schemas/system.ts';

export const keyRoutes = [
  defineRoute({
    method: 'get',
    path: '/keys',
    operationId: 'listKeys',
    tag: 'Keys',
    summary: 'List API keys',
    description: 'Every key with its permissions and times; never the key itself.',
    permission: 'manage_keys',
    responses: { 200: { description: 'The keys', schema: KeyList } },
    handle: (_ctx, _input, { keys }) => keys.list(),
  }),
  defineRoute({
    method: 'post',
    path: '/keys',
    operationId: 'createKey',
    tag: 'Keys',
    summary: 'Mint an API key',
    description: 'Permissions: any of `read_messages`, `write_messages`, `view_peers`, `manage_peers`, `manage_keys`, or `all`. The key is in the answer only, once; it is stored hashed.',
    permission: 'manage_keys',
    body: { schema: KeyCreateRequest, missing: 'permissions must be a list' },
    responses: { 201: { description: 'The new key', schema: KeyCreated } },
    handle: (ctx, { body }, { keys }) => {
      ctx.status = 201;
      return keys.create({ permissions: body.permissions, name: body.name, expiresDays: body.expires_days });
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/keys/:id',
    operationId: 'revokeKey',
    tag: 'Keys',
    summary: 'Revoke an API key',
    description: 'The key stops working at once.',
    permission: 'manage_keys',
    params: IdParam,
    responses: { 200: { description: 'Revoked', schema: KeyRevoked } },
    errors: { 404: 'No key with this id' },
    handle: (ctx, _input, { keys }) => keys.revoke(ctx.params.id!),
  }),
];
