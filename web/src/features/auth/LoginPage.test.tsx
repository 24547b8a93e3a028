import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { LoginPage } from './LoginPage';
import { fakeNetwork, on, renderWithProviders } from '../../test-support';

afterEach(() => vi.unstubAllGlobals());

describe('LoginPage', () => {
  it('shows the Google button only when the server enables it', async () => {
    fakeNetwork(on('GET', '/api/config', { client_config: { googleLoginEnabled: true } }));
    renderWithProviders(<LoginPage />);
    expect(await screen.findByRole('link', { name: 'Log in with Google' })).toBeTruthy();
  });

  it('hides single sign-on when it is off', async () => {
    const seen = fakeNetwork(on('GET', '/api/config', { client_config: { googleLoginEnabled: false } }));
    renderWithProviders(<LoginPage />);
    await waitFor(() => expect(seen.length).toBe(1));
    expect(screen.queryByRole('link', { name: /Google/ })).toBeNull();
  });

  it("shows the server's reason when the login is refused", async () => {
    fakeNetwork(on('GET', '/api/config', { client_config: {} }), (request) =>
      request.method === 'POST' && request.url.endsWith('/login')
        ? { status: 401, type: 'text/html', body: '<html><p class="error" role="alert">Wrong email or password.</p></html>' }
        : undefined,
    );
    renderWithProviders(<LoginPage />);
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'ada@example.com' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Log in' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Wrong email or password.');
  });
});
