'use strict';
// Scope URIs and, per method, the scopes that allow it, copied from the
// Gmail discovery document (gmail.v1.json) and the Admin SDK Directory docs.
const G = 'https://www.googleapis.com/auth/';
const MAIL = 'https://mail.google.com/';
const S = {
  mail: MAIL, readonly: G + 'gmail.readonly', modify: G + 'gmail.modify', metadata: G + 'gmail.metadata',
  insert: G + 'gmail.insert', labels: G + 'gmail.labels', compose: G + 'gmail.compose', send: G + 'gmail.send',
  settingsBasic: G + 'gmail.settings.basic', settingsSharing: G + 'gmail.settings.sharing',
  dirUser: G + 'admin.directory.user', dirUserRo: G + 'admin.directory.user.readonly',
  dirGroup: G + 'admin.directory.group', dirGroupRo: G + 'admin.directory.group.readonly',
  dirMember: G + 'admin.directory.group.member', dirMemberRo: G + 'admin.directory.group.member.readonly',
  pubsub: G + 'pubsub', cloudPlatform: G + 'cloud-platform',
};
const READ = [S.mail, S.metadata, S.modify, S.readonly];
const BY_METHOD = {
  'gmail.users.getProfile': [S.mail, S.compose, S.metadata, S.modify, S.readonly],
  'gmail.users.history.list': READ,
  // watch and stop: the four read scopes (gmail.v1.json)
  'gmail.users.watch': READ,
  'gmail.users.stop': READ,
  'gmail.users.labels.list': [S.mail, S.labels, S.metadata, S.modify, S.readonly],
  'gmail.users.labels.get': [S.mail, S.labels, S.metadata, S.modify, S.readonly],
  'gmail.users.labels.create': [S.mail, S.labels, S.modify],
  'gmail.users.labels.update': [S.mail, S.labels, S.modify],
  'gmail.users.labels.patch': [S.mail, S.labels, S.modify],
  'gmail.users.labels.delete': [S.mail, S.labels, S.modify],
  'gmail.users.messages.list': READ,
  'gmail.users.messages.get': READ,
  'gmail.users.messages.attachments.get': [S.mail, S.modify, S.readonly],
  'gmail.users.messages.insert': [S.mail, S.insert, S.modify],
  'gmail.users.messages.import': [S.mail, S.insert, S.modify],
  'gmail.users.messages.modify': [S.mail, S.modify],
  'gmail.users.messages.batchModify': [S.mail, S.modify],
  'gmail.users.messages.trash': [S.mail, S.modify],
  'gmail.users.messages.untrash': [S.mail, S.modify],
  'gmail.users.messages.delete': [S.mail],
  'gmail.users.messages.batchDelete': [S.mail],
  'directory.users.list': [S.dirUser, S.dirUserRo],
  'directory.members.list': [S.dirMember, S.dirMemberRo, S.dirGroup, S.dirGroupRo],
};
// Every Pub/Sub v1 method takes either scope (pubsub v1 discovery).
for (const m of ['topics.list', 'topics.create', 'topics.get', 'topics.delete', 'topics.subscriptions.list', 'topics.publish', 'topics.setIamPolicy',
  'topics.getIamPolicy', 'subscriptions.list', 'subscriptions.create', 'subscriptions.get', 'subscriptions.delete', 'subscriptions.pull',
  'subscriptions.acknowledge', 'subscriptions.modifyAckDeadline']) BY_METHOD['pubsub.projects.' + m] = [S.cloudPlatform, S.pubsub];
const KNOWN = new Set(Object.values(S).concat(['openid', 'email', 'profile',
  'https://www.googleapis.com/auth/userinfo.email', 'https://www.googleapis.com/auth/userinfo.profile', 'https://www.googleapis.com/auth/cloud-platform']));

function allowed(method, scopes) {
  const need = BY_METHOD[method];
  if (!need) return true;
  for (const s of need) if (scopes.has(s)) return true;
  return false;
}

module.exports = { S, BY_METHOD, KNOWN, allowed };
