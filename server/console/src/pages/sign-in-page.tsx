import { useMutation } from '@tanstack/react-query';
import { Button } from '@ui/button';
import { TextField } from '@ui/field';
import { type FormEvent, useState } from 'react';
import { describeError } from '../api/api-client';
import { buyerApi } from '../api/buyer-api';
import { useApiKey } from '../auth/api-key-context';

/**
 * Sign in with a buyer API key. The key is tried against `GET /v1/buyer` before it is kept, so a wrong
 * or revoked key shows the API's own words under the field instead of failing later on every page.
 */
export function SignInPage() {
  const { signIn, clientFor } = useApiKey();
  const [key, setKey] = useState('');
  const check = useMutation({
    mutationFn: (candidate: string) => buyerApi.me(clientFor(candidate)),
    onSuccess: (_buyer, candidate) => signIn(candidate),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    check.mutate(key.trim());
  };
  return (
    <div className="mx-auto max-w-md rounded-lg border border-stone-200 bg-white p-6">
      <h1 className="mb-1 text-xl font-semibold">Sign in</h1>
      <p className="mb-4 text-sm text-stone-600">
        Paste the API key your operator gave you (<code>glk_…</code>). It stays in this browser tab only and is
        forgotten when the tab closes or you sign out.
      </p>
      <form onSubmit={submit} className="space-y-4">
        <TextField
          label="API key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(event) => setKey(event.target.value)}
          error={check.error ? describeError(check.error) : null}
          required
        />
        <Button type="submit" disabled={check.isPending || key.trim() === ''}>
          {check.isPending ? 'Checking…' : 'Sign in'}
        </Button>
      </form>
    </div>
  );
}
