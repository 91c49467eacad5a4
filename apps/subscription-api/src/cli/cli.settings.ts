import { defineSettings, encryptionKeySettings, kafkaClientSettings } from '@odis/config';
import { databaseSettings } from '@odis/persistence';

/** The settings of `npm run cli` (every command). */
export const cliSettings = defineSettings('CLI', databaseSettings);
/** What `secrets reencrypt` needs besides. */
export const cliSecretSettings = defineSettings('CLI', encryptionKeySettings);
/** What `dlq` needs besides (docs/operations.md "Dead letters"). */
export const cliKafkaSettings = defineSettings('CLI', kafkaClientSettings);
