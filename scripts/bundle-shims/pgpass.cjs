'use strict';
/**
 * Stands in, in the function bundles, for `pgpass` (pg reads ~/.pgpass with it when a connection has no
 * password; pg 8 deprecates it). The functions take the password from DATABASE_URL (or PGPASSWORD), and an
 * SCF instance has no ~/.pgpass: this answers "no password file", as pgpass does when the file is absent.
 */
module.exports = function noPasswordFile(_connection, callback) {
  callback(undefined);
};
