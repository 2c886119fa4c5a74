/**
 * Force email verification (legacy Rule).
 *
 * Users must verify their email address before they can log in; the error message reaches the
 * application as `error_description` in the callback (error `unauthorized`).
 *
 * Configuration: none.
 */
function forceEmailVerification(user, context, callback) {
  if (!user.email_verified) {
    return callback(new UnauthorizedError('Please verify your email address before logging in.'));
  }
  return callback(null, user, context);
}
