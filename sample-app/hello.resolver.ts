import { Query, Resolver } from '@nestjs/graphql';
import { ApproovClaims } from 'nestjs-approov';

/** The GraphQL schema of the sample app: one query, protected like every route. */
export const typeDefs = 'type Query { hello: String! }';

@Resolver()
export class HelloResolver {
  /** A valid Approov token is enough, as for `GET /token-check`. */
  @Query()
  hello(@ApproovClaims('did') deviceId: string | undefined): string {
    return `Hello from GraphQL, device ${deviceId ?? 'without a did claim'}`;
  }
}
