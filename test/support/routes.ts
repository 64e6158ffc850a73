/** Controllers that several e2e suites mount, and why each of Approov's vectors is refused. */
import { Controller, Get } from '@nestjs/common';
import { type ApproovFailureReason, ApproovTokenBinding } from 'nestjs-approov';
import { ran } from './test-app.js';

/** One route, `/protected`, that the guard protects when the app makes it global. */
@Controller('protected')
export class ProtectedController {
  @Get()
  protectedRoute(): object {
    return ran('protectedRoute');
  }
}

/** The routes Approov's vectors are sent to. */
@Controller()
export class VectorController {
  @Get('check')
  check(): object {
    return ran('check');
  }

  @Get('bound')
  @ApproovTokenBinding('Authorization')
  bound(): object {
    return ran('bound');
  }

  @Get('doubleBound')
  @ApproovTokenBinding('Authorization', 'X-Device-Id')
  doubleBound(): object {
    return ran('doubleBound');
  }
}

/** Why each refused vector must fail, by its name: the reason proves the right check caught it. */
export const VECTOR_REASONS: Record<string, ApproovFailureReason> = {
  'bad signature': 'bad_signature',
  'bad signature, expired 2019': 'bad_signature',
  'exp is an empty string': 'invalid_exp',
  'no exp claim': 'missing_exp',
  'expired 2019': 'expired',
  'expired 2003': 'expired',
  malformed: 'malformed_token',
  'empty header': 'missing_token',
  'no header': 'missing_token',
  'bound, Authorization missing': 'missing_binding_header',
  'bound, other Authorization': 'binding_mismatch',
  'pay does not match': 'binding_mismatch',
  'pay does not match, float exp': 'binding_mismatch',
  'no pay claim (fail-over shape); 401 unless missing pay is tolerated': 'missing_pay',
  'no alg, JWE-style header': 'unsupported_algorithm',
  'no exp': 'missing_exp',
  'expired 2024': 'expired',
  'pay "MismatchingBinding"': 'binding_mismatch',
};
